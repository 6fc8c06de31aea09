"""Response selectors: keep only the fields the model needs.

A selector is a dotted path: ``status``, ``shipping.carrier``, ``items[*].name`` (each
element of a list), ``[*].id`` (each element of a top-level list); ``$.`` may prefix it.
Selected fields keep their place in the structure; missing ones are left out.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_SEGMENT = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)?(?P<each>\[\*\])?$")
_EACH = None  # a step that walks every element of a list


@dataclass(frozen=True)
class Selector:
    text: str
    steps: tuple[str | None, ...]  # a key, or _EACH


def parse_selector(text: str) -> Selector:
    """The parsed selector, or ValueError saying what is wrong."""
    body = text[2:] if text.startswith("$.") else text
    if not body:
        raise ValueError(f"{text!r} selects nothing")
    steps: list[str | None] = []
    for segment in body.split("."):
        match = _SEGMENT.match(segment)
        if match is None or not segment:
            raise ValueError(f"{text!r}: {segment!r} is not a field name or name[*]")
        if match["key"]:
            steps.append(match["key"])
        if match["each"]:
            steps.append(_EACH)
    return Selector(text, tuple(steps))


def select(data: Any, selectors: Sequence[Selector]) -> Any:
    """``data`` reduced to the selected fields ({} or [] when nothing matches)."""
    picked = _project(data, [s.steps for s in selectors])
    if picked is not _MISSING:
        return picked
    return [] if isinstance(data, list) else {}


class _Missing:
    pass


_MISSING: Any = _Missing()


def _project(data: Any, paths: list[tuple[str | None, ...]]) -> Any:
    if any(not path for path in paths):
        return data  # the whole value is selected
    if isinstance(data, dict):
        return _project_object(data, paths)
    if isinstance(data, list) and any(path[0] is _EACH for path in paths):
        rests = [path[1:] for path in paths if path[0] is _EACH]
        items = [_project(item, rests) for item in data]
        return [item for item in items if item is not _MISSING]
    return _MISSING


def _project_object(data: dict[str, Any], paths: list[tuple[str | None, ...]]) -> Any:
    result: dict[str, Any] = {}
    for key in dict.fromkeys(path[0] for path in paths if path[0] is not _EACH):
        if key is None or key not in data:
            continue
        value = _project(data[key], [path[1:] for path in paths if path[0] == key])
        if value is not _MISSING:
            result[key] = value
    return result if result else _MISSING
