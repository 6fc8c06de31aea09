"""Turn files into Documents: Markdown (with optional YAML front matter) and plain text.

A file that cannot be read or decoded is reported by name and skipped; the others
are still loaded.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.errors import IngestError
from knowledge.types import Document

DEFAULT_INCLUDE = ("*.md", "*.txt")
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_TITLE_HEADING = re.compile(r"^#[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")


class LoadFailure(Exception):
    """One file could not be turned into a Document; the message says why."""


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def load_path(path: Path, include: Sequence[str] = DEFAULT_INCLUDE) -> LoadResult:
    """Load one file, or every matching file below a folder."""
    if path.is_dir():
        return load_folder(path, include)
    if path.is_file():
        try:
            return LoadResult(documents=[load_file(path, path.name)])
        except LoadFailure as failure:
            return LoadResult(failures=[(path.name, str(failure))])
    raise IngestError(f"{path} is neither a file nor a folder")


def load_folder(path: Path, include: Sequence[str] = DEFAULT_INCLUDE) -> LoadResult:
    """Load every file below ``path`` matching one of ``include`` (hidden files skipped).

    Each document's ``source`` is its path relative to ``path``, posix style.
    """
    if not path.is_dir():
        raise IngestError(f"{path} is not a folder")
    result = LoadResult()
    for file in _matching_files(path, include):
        source = file.relative_to(path).as_posix()
        try:
            result.documents.append(load_file(file, source))
        except LoadFailure as failure:
            result.failures.append((source, str(failure)))
    return result


def load_file(path: Path, source: str) -> Document:
    """Load one Markdown or plain-text file; raise LoadFailure with a short reason."""
    text = _read_text(path)
    if path.suffix.lower() in MARKDOWN_SUFFIXES:
        return parse_markdown(text, source, fallback_title=_title_from_name(path))
    return _checked(Document(source=source, title=_title_from_name(path), text=text.strip()))


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
    return _checked(document)


def _matching_files(folder: Path, include: Sequence[str]) -> list[Path]:
    found = {
        file
        for pattern in include
        for file in folder.rglob(pattern)
        if not _is_hidden(file.relative_to(folder)) and not file.is_dir()
    }
    return sorted(found)


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LoadFailure(f"cannot read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LoadFailure(f"not valid UTF-8 (byte {error.start})") from None


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


def _title_from_name(path: Path) -> str:
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def _checked(document: Document) -> Document:
    if not document.text:
        raise LoadFailure("no text")
    return document
