"""Ingest files into a tenant's knowledge base: load them, then sync the store."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.errors import IngestError
from knowledge.loaders import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    DEFAULT_MAX_FILE_BYTES,
    load_path,
)
from knowledge.store import KnowledgeStore, ProgressCallback, SyncSummary


@dataclass(frozen=True)
class IngestReport:
    """The sync's summary, and the files that could not be loaded (path, reason)."""

    summary: SyncSummary
    failures: tuple[tuple[str, str], ...] = ()
    deletions_skipped: bool = False

    @property
    def all_failures(self) -> tuple[tuple[str, str], ...]:
        """Files that failed to load, then documents the store could not index."""
        return self.failures + self.summary.failures

    @property
    def failed(self) -> int:
        return len(self.all_failures)


def ingest_path(
    store: KnowledgeStore,
    tenant: str,
    path: Path,
    delete_missing: bool = False,
    progress: ProgressCallback | None = None,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> IngestReport:
    """Load a file or folder and sync it into the tenant's collection.

    In a folder, files matching ``include`` and not ``exclude`` are loaded (see
    ``knowledge.loaders.walk``); files over ``max_file_bytes`` are reported, not read.
    With ``delete_missing``, documents whose files are gone are removed, but only when
    every file loaded: a file that failed to load may hold many documents (a Zendesk
    export does), so after any failure nothing is deleted (``deletions_skipped``).
    ``progress(done, total)`` counts chunks embedded.
    """
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    loaded = load_path(path, include, exclude, max_file_bytes)
    skip_deletions = delete_missing and bool(loaded.failures)
    summary = store.sync_documents(
        tenant,
        loaded.documents,
        delete_missing=delete_missing and not skip_deletions,
        progress=progress,
    )
    return IngestReport(summary, tuple(loaded.failures), deletions_skipped=skip_deletions)
