"""What every loader shares: the result type, the failure, and careful file reading.

A file is read only when it is a regular file no larger than the size limit, and
at most ``limit + 1`` bytes are ever read, so a huge file is rejected cheaply.
Text must be UTF-8 (a byte-order mark is allowed): anything else is reported,
never guessed, because a wrong guess would index garbled text without a warning.
"""

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.types import Document

DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
_MEGABYTE = 1024 * 1024


class LoadFailure(Exception):
    """One file (or one article in it) could not be turned into a Document; says why."""


@dataclass(frozen=True)
class LoadResult:
    """The documents loaded, and (source, reason) for each file or article that was not."""

    documents: list[Document] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    def extend(self, other: "LoadResult") -> None:
        self.documents.extend(other.documents)
        self.failures.extend(other.failures)


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; LoadFailure if it is not a regular file, unreadable, empty or too big."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise LoadFailure("not a regular file")
        if info.st_size > max_bytes:
            raise LoadFailure(_too_large(info.st_size, max_bytes))
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as error:
        raise LoadFailure(f"cannot read: {error.strerror or error}") from None
    if len(data) > max_bytes:  # it grew while we looked
        raise LoadFailure(_too_large(len(data), max_bytes))
    if not data.strip():
        raise LoadFailure("empty file")
    return data


def decode_text(data: bytes) -> str:
    """UTF-8 text, with or without a byte-order mark; binary or other encodings fail."""
    if b"\x00" in data:
        raise LoadFailure("binary data, not text (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        byte = data[error.start]
        raise LoadFailure(
            f"not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); save it as UTF-8"
        ) from None


def title_from_name(path: Path) -> str:
    """``store_policy.txt`` -> ``Store policy``."""
    words = re.sub(r"[-_]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def checked(document: Document) -> Document:
    """The document, or LoadFailure when it has no text to index."""
    if not document.text.strip():
        raise LoadFailure("no text")
    return document


def _too_large(size: int, limit: int) -> str:
    return f"too large: {size / _MEGABYTE:.1f} MB (the limit is {limit / _MEGABYTE:.1f} MB)"
