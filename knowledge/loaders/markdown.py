"""Markdown files, with optional YAML front matter (title, url, locale)."""

import re
from typing import Any

import yaml

from knowledge.loaders.common import LoadFailure, checked
from knowledge.types import Document

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TITLE_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")


def parse_markdown(text: str, source: str, fallback_title: str) -> Document:
    """A Markdown document: front matter (title, url, locale) wins over the first ``# ``."""
    front, body = _split_front_matter(text)
    title = _string_field(front, "title") or _first_title_heading(body) or fallback_title
    document = Document(
        source=source,
        title=title,
        text=body.strip(),
        url=_string_field(front, "url"),
        locale=_string_field(front, "locale") or "en",
    )
    return checked(document)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise LoadFailure(f"front matter is not valid YAML: {problem}") from None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise LoadFailure("front matter must be a mapping (key: value lines)")
    return front, text[match.end() :]


def _string_field(front: dict[str, Any], key: str) -> str | None:
    value = front.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise LoadFailure(f"front matter field {key!r} must be a string")
    return str(value).strip() or None


def _first_title_heading(body: str) -> str | None:
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _TITLE_HEADING.match(line)
        if match:
            return match.group(1).strip()
    return None
