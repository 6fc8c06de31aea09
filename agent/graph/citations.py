"""Citations: which passages a reply rests on, in the shape channels render."""

import re
from collections.abc import Sequence

from knowledge.types import Passage

_MARKER = re.compile(r"\[(\d{1,2})\]")


def cited_passages(text: str, passages: Sequence[Passage]) -> list[Passage]:
    """The passages referenced as ``[n]`` in ``text``, in order of first mention."""
    cited: list[Passage] = []
    for match in _MARKER.finditer(text):
        index = int(match.group(1)) - 1
        if 0 <= index < len(passages) and passages[index] not in cited:
            cited.append(passages[index])
    return cited


def citation(passage: Passage) -> dict[str, str]:
    entry = {"title": passage.title, "source": passage.source}
    if passage.url:
        entry["url"] = passage.url
    return entry


def renumber(text: str, passages: Sequence[Passage], cited: Sequence[Passage]) -> str:
    """Rewrite ``[n]`` markers so they count the cited passages 1, 2, ... in order."""

    def replace(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        if 0 <= index < len(passages) and passages[index] in cited:
            return f"[{cited.index(passages[index]) + 1}]"
        return ""

    return _MARKER.sub(replace, text)
