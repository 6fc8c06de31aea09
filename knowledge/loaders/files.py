"""Load a file or a folder: choose the loader by suffix, report failures, never stop early.

Each failure is ``(source, reason)``; ``source`` is the file's path relative to the
folder (posix style), or the source of the one article that failed in an export.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

from knowledge.errors import IngestError
from knowledge.loaders.common import (
    DEFAULT_MAX_FILE_BYTES,
    LoadFailure,
    LoadResult,
    decode_text,
    read_limited,
    title_from_name,
)
from knowledge.loaders.html import load_html
from knowledge.loaders.markdown import parse_markdown
from knowledge.loaders.pdf import load_pdf
from knowledge.loaders.text import parse_text
from knowledge.loaders.walk import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, matching_files
from knowledge.loaders.zendesk import load_zendesk_export
from knowledge.types import Document

logger = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})


def load_path(
    path: Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> LoadResult:
    """Load one file (whatever its name), or every matching file below a folder."""
    if path.is_dir():
        return load_folder(path, include, exclude, max_file_bytes)
    if path.is_file():
        return load_file(path, path.name, _checked_limit(max_file_bytes))
    raise IngestError(f"{path} is neither a file nor a folder")


def load_folder(
    path: Path,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> LoadResult:
    """Load every file below ``path`` that matches ``include`` and not ``exclude``.

    Each document's ``source`` is its path relative to ``path``, posix style. The
    defaults take the supported formats and skip hidden files and folders.
    """
    if not path.is_dir():
        raise IngestError(f"{path} is not a folder")
    limit = _checked_limit(max_file_bytes)
    walk = matching_files(path, include, exclude)
    result = LoadResult(failures=list(walk.failures))
    for file in walk.files:
        result.extend(load_file(file, file.relative_to(path).as_posix(), limit))
    return result


def load_file(path: Path, source: str, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadResult:
    """Load one file: its document(s), or one failure saying why it could not be loaded."""
    try:
        return _parse(path, source, read_limited(path, max_file_bytes))
    except LoadFailure as failure:
        return LoadResult(failures=[(source, str(failure))])
    except Exception as error:  # one odd file must never stop an ingest of thousands
        logger.warning("unexpected error loading %s", source, exc_info=True)
        return LoadResult(failures=[(source, f"cannot load ({type(error).__name__}: {error})")])


def _parse(path: Path, source: str, data: bytes) -> LoadResult:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return load_zendesk_export(data, source)
    return LoadResult(documents=[_document(suffix, data, source, title_from_name(path))])


def _document(suffix: str, data: bytes, source: str, fallback_title: str) -> Document:
    if suffix == ".pdf":
        return load_pdf(data, source, fallback_title)
    if suffix in HTML_SUFFIXES:
        return load_html(data, source, fallback_title)
    if suffix in MARKDOWN_SUFFIXES:
        return parse_markdown(decode_text(data), source, fallback_title)
    return parse_text(decode_text(data), source, fallback_title)


def _checked_limit(max_file_bytes: int) -> int:
    if max_file_bytes < 1:
        raise IngestError("max_file_bytes must be at least 1")
    return max_file_bytes
