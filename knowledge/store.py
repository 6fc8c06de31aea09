"""The knowledge store: one Chroma collection per tenant and embedding model.

Embedded (``PersistentClient``) by default, a Chroma server (``HttpClient``) when
``chroma_url`` is set. Chroma's errors are translated here, at the boundary:
a store that cannot be opened or reached raises ``KnowledgeUnavailable``.

Vectors are computed by our own embedding function and handed to Chroma, so
Chroma's default embedding function (which would download a model) never runs.
Safe for concurrent ``search`` calls from a threadpool; syncs run one at a time.
"""

import logging
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection as ChromaCollection
from chromadb.api.types import Embeddable, EmbeddingFunction, QueryResult
from chromadb.config import Settings
from chromadb.errors import ChromaError, NotFoundError

from knowledge.chunking import chunk_document
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import SentenceTransformerEmbeddings, model_label, model_slug
from knowledge.errors import KnowledgeError, KnowledgeUnavailable
from knowledge.types import HEADING_SEPARATOR, Chunk, Document, Passage

logger = logging.getLogger(__name__)

# Stored with every chunk. Bump it when chunking, metadata or the embedded text change:
# a sync then re-embeds every document whose chunks carry an older version.
SCHEMA_VERSION = 1
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_PAGE_SIZE = 1000

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class SyncSummary:
    """What a sync did, counted in documents (sources)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass
class _StoredSource:
    """The chunks one source has in the collection, and the hashes they were made from."""

    ids: list[str] = field(default_factory=list)
    fingerprints: set[tuple[str, int]] = field(default_factory=set)

    def is_current(self, content_hash: str) -> bool:
        return self.fingerprints == {(content_hash, SCHEMA_VERSION)}


@dataclass
class _SyncPlan:
    writes: list[tuple[Document, list[Chunk]]] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    removed_sources: list[str] = field(default_factory=list)


class KnowledgeStore:
    """Search and sync the knowledge base of any tenant."""

    def __init__(
        self,
        client: ClientAPI,
        config: KnowledgeConfig,
        embeddings: SentenceTransformerEmbeddings | None = None,
    ) -> None:
        self._client = client
        self._config = config
        self._embeddings = embeddings or SentenceTransformerEmbeddings(
            config.embedding_model, config.device, config.batch_size
        )
        self._collections: dict[str, ChromaCollection] = {}
        self._collections_lock = threading.Lock()
        self._sync_lock = threading.Lock()

    @classmethod
    def open(cls, config: KnowledgeConfig) -> "KnowledgeStore":
        """Open the embedded store or connect to the server; raise KnowledgeUnavailable."""
        return cls(_connect(config), config)

    @property
    def embeddings(self) -> SentenceTransformerEmbeddings:
        return self._embeddings

    @property
    def _chroma_embeddings(self) -> EmbeddingFunction[Embeddable]:
        # Chroma's signature wants a function of documents or images; ours embeds documents.
        return cast("EmbeddingFunction[Embeddable]", self._embeddings)

    def collection_name(self, tenant: str) -> str:
        """``<tenant>__<model slug>``, e.g. ``demo__all-minilm-l6-v2``."""
        if not _TENANT.match(tenant):
            raise KnowledgeError(
                f"invalid tenant {tenant!r}: use lowercase letters, digits, '-' or '_' (at most 63)"
            )
        return f"{tenant}__{model_slug(self._config.embedding_model)}"

    def warm_up(self) -> None:
        """Load the embedding model now (the server does this in the background at start-up)."""
        self._embeddings.warm_up()

    def ping(self) -> None:
        """Check that the store answers; raise KnowledgeUnavailable if not."""
        with _translated("the knowledge store does not answer"):
            self._client.heartbeat()

    def search(
        self, tenant: str, query: str, k: int = 4, locale: str | None = None
    ) -> list[Passage]:
        """The ``k`` passages closest to ``query``, best first; [] when there is nothing."""
        if k < 1 or not query.strip():
            return []
        collection = self._collection(tenant)
        if collection is None:
            return []
        vectors = self._embeddings.embed([query])
        try:
            with _translated(f"cannot search the knowledge base of {tenant}", gone_ok=True):
                result = collection.query(
                    query_embeddings=vectors,
                    n_results=k,
                    where={"locale": locale} if locale else None,
                    include=["documents", "metadatas", "distances"],
                )
        except _CollectionGone:
            self._forget(collection.name)
            return []
        return sorted(_passages(result), key=lambda passage: passage.score, reverse=True)

    def sync_documents(
        self,
        tenant: str,
        documents: Iterable[Document],
        delete_missing: bool = False,
        keep_sources: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> SyncSummary:
        """Make the tenant's collection match ``documents``, embedding only what changed.

        A document whose stored chunks carry its current content hash is left alone;
        a changed one is re-chunked and re-embedded, and its old chunks removed.
        With ``delete_missing``, sources absent from ``documents`` are removed, except
        those in ``keep_sources`` (for example files that failed to load this time).
        ``progress(done, total)`` counts chunks embedded. Nothing to embed means the
        embedding model is never loaded.
        """
        with self._sync_lock:
            collection = self._create_collection(tenant)
            stored = self._stored_sources(collection)
            plan = self._plan(documents, stored, delete_missing, keep_sources)
            self._write(collection, tenant, plan, stored, progress)
            self._remove_sources(collection, plan.removed_sources, stored)
        summary = SyncSummary(
            added=plan.added,
            updated=plan.updated,
            unchanged=plan.unchanged,
            removed=len(plan.removed_sources),
            failures=tuple(plan.failures),
        )
        logger.info("knowledge sync of %s: %s", tenant, summary)
        return summary

    def stats(self, tenant: str) -> dict[str, int]:
        """How many chunks and documents (sources) the tenant's collection holds."""
        collection = self._collection(tenant)
        try:
            stored = self._stored_sources(collection, gone_ok=True) if collection else {}
        except _CollectionGone:
            self._forget(self.collection_name(tenant))
            stored = {}
        return {"chunks": sum(len(s.ids) for s in stored.values()), "documents": len(stored)}

    def _collection(self, tenant: str) -> ChromaCollection | None:
        """The tenant's collection if it exists (cached: searches are frequent)."""
        name = self.collection_name(tenant)
        with self._collections_lock:
            cached = self._collections.get(name)
        if cached is not None:
            return cached
        try:
            with _translated(f"cannot open the knowledge base of {tenant}", gone_ok=True):
                collection = self._client.get_collection(
                    name, embedding_function=self._chroma_embeddings
                )
        except _CollectionGone:
            return None
        except ValueError as error:
            raise _conflict(name, error) from None
        return self._remember(collection)

    def _create_collection(self, tenant: str) -> ChromaCollection:
        """The tenant's collection, created if missing; never from the cache (it may be stale)."""
        name = self.collection_name(tenant)
        try:
            with _translated(f"cannot open the knowledge base of {tenant}"):
                collection = self._client.get_or_create_collection(
                    name,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={
                        "tenant": tenant,
                        "embedding_model": model_label(self._config.embedding_model),
                        "schema_version": SCHEMA_VERSION,
                    },
                    embedding_function=self._chroma_embeddings,
                )
        except ValueError as error:
            raise _conflict(name, error) from None
        self._forget(name)
        return self._remember(collection)

    def _remember(self, collection: ChromaCollection) -> ChromaCollection:
        with self._collections_lock:
            return self._collections.setdefault(collection.name, collection)

    def _forget(self, name: str) -> None:
        with self._collections_lock:
            self._collections.pop(name, None)

    def _stored_sources(
        self, collection: ChromaCollection, gone_ok: bool = False
    ) -> dict[str, _StoredSource]:
        stored: dict[str, _StoredSource] = {}
        for chunk_id, metadata in _all_metadata(collection, gone_ok):
            entry = stored.setdefault(str(metadata.get("source", "")), _StoredSource())
            entry.ids.append(chunk_id)
            version = metadata.get("schema_version")
            entry.fingerprints.add(
                (str(metadata.get("content_hash", "")), version if isinstance(version, int) else 0)
            )
        return stored

    def _plan(
        self,
        documents: Iterable[Document],
        stored: dict[str, _StoredSource],
        delete_missing: bool,
        keep_sources: Collection[str],
    ) -> _SyncPlan:
        plan = _SyncPlan()
        seen: set[str] = set()
        for document in documents:
            if document.source in seen:
                plan.failures.append((document.source, "duplicate source; first one kept"))
                continue
            seen.add(document.source)
            self._plan_document(plan, document, stored.get(document.source))
        if delete_missing:
            kept = seen | set(keep_sources)
            plan.removed_sources = sorted(source for source in stored if source not in kept)
        return plan

    def _plan_document(
        self, plan: _SyncPlan, document: Document, stored: _StoredSource | None
    ) -> None:
        if stored is not None and stored.is_current(document.content_hash):
            plan.unchanged += 1
            return
        chunks = chunk_document(document)
        if not chunks:
            plan.failures.append((document.source, "no text to index"))
            return
        plan.writes.append((document, chunks))
        if stored is None:
            plan.added += 1
        else:
            plan.updated += 1

    def _write(
        self,
        collection: ChromaCollection,
        tenant: str,
        plan: _SyncPlan,
        stored: dict[str, _StoredSource],
        progress: ProgressCallback | None,
    ) -> None:
        total = sum(len(chunks) for _, chunks in plan.writes)
        done = 0
        if progress:
            progress(done, total)
        for group in _groups(plan.writes, self._config.batch_size):
            chunks = [chunk for _, doc_chunks in group for chunk in doc_chunks]
            vectors = self._embeddings.embed([chunk.embedding_text for chunk in chunks])
            with _translated(f"cannot write to the knowledge base of {tenant}"):
                collection.upsert(
                    ids=[chunk.id for chunk in chunks],
                    embeddings=vectors,
                    documents=[chunk.text for chunk in chunks],
                    metadatas=[_metadata(tenant, chunk) for chunk in chunks],
                )
                stale = _stale_ids(group, stored)
                if stale:
                    collection.delete(ids=stale)
            done += len(chunks)
            if progress:
                progress(done, total)

    def _remove_sources(
        self, collection: ChromaCollection, sources: Sequence[str], stored: dict[str, _StoredSource]
    ) -> None:
        ids = [chunk_id for source in sources for chunk_id in stored[source].ids]
        with _translated("cannot remove documents from the knowledge base"):
            for start in range(0, len(ids), _PAGE_SIZE):
                collection.delete(ids=ids[start : start + _PAGE_SIZE])


class _CollectionGone(Exception):
    """The collection does not exist (any more)."""


@contextmanager
def _translated(action: str, gone_ok: bool = False) -> Iterator[None]:
    """Turn Chroma and transport errors into KnowledgeUnavailable.

    With ``gone_ok``, a missing collection raises ``_CollectionGone`` instead, for
    callers that treat it as empty.
    """
    try:
        yield
    except NotFoundError as error:
        if gone_ok:
            raise _CollectionGone(str(error)) from error
        raise KnowledgeUnavailable(f"{action}: {error}") from error
    except (ChromaError, httpx.HTTPError, OSError) as error:
        raise KnowledgeUnavailable(f"{action}: {error}") from error


def _conflict(name: str, error: ValueError) -> KnowledgeError:
    """Chroma refuses a collection made with another embedding function."""
    return KnowledgeError(f"collection {name} cannot be used: {error}")


def _connect(config: KnowledgeConfig) -> ClientAPI:
    settings = Settings(anonymized_telemetry=False)
    if config.chroma_url:
        return _connect_http(config.chroma_url, config.timeout_s, settings)
    try:
        config.persist_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(config.persist_dir), settings=settings)
    except Exception as error:  # any failure here means there is no store to use
        raise KnowledgeUnavailable(
            f"cannot open the knowledge store in {config.persist_dir}: {error}"
        ) from error


def _connect_http(url: str, timeout_s: float, settings: Settings) -> ClientAPI:
    """Connect to a Chroma server, every request bounded by ``timeout_s``.

    chromadb's HTTP client has no timeout setting and makes a first request while
    it is being built, so the server is checked first with a bounded heartbeat, and
    the client's session gets the timeout as soon as it exists.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise KnowledgeUnavailable(f"chroma url {url!r} must look like http(s)://host[:port]")
    _check_heartbeat(url.rstrip("/"), timeout_s)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        client = chromadb.HttpClient(
            host=parts.hostname, port=port, ssl=parts.scheme == "https", settings=settings
        )
    except Exception as error:  # any failure here means the server cannot be used
        raise KnowledgeUnavailable(f"cannot connect to chroma at {url}: {error}") from error
    _set_http_timeout(client, timeout_s)
    return client


def _check_heartbeat(url: str, timeout_s: float) -> None:
    try:
        response = httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout_s)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise KnowledgeUnavailable(f"chroma at {url} does not answer: {error}") from error


def _set_http_timeout(client: ClientAPI, timeout_s: float) -> None:
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout_s)
    else:
        logger.warning("cannot set a timeout on chromadb's HTTP client; requests are unbounded")


def _all_metadata(
    collection: ChromaCollection, gone_ok: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    offset = 0
    while True:
        with _translated(f"cannot read collection {collection.name}", gone_ok=gone_ok):
            page = collection.get(include=["metadatas"], limit=_PAGE_SIZE, offset=offset)
        metadatas = page["metadatas"] or []
        for chunk_id, metadata in zip(page["ids"], metadatas, strict=True):
            yield chunk_id, dict(metadata or {})
        if len(page["ids"]) < _PAGE_SIZE:
            return
        offset += _PAGE_SIZE


def _groups(
    writes: list[tuple[Document, list[Chunk]]], size: int
) -> Iterator[list[tuple[Document, list[Chunk]]]]:
    """Whole documents, grouped so that a group holds about ``size`` chunks."""
    group: list[tuple[Document, list[Chunk]]] = []
    count = 0
    for item in writes:
        if group and count + len(item[1]) > size:
            yield group
            group, count = [], 0
        group.append(item)
        count += len(item[1])
    if group:
        yield group


def _stale_ids(
    group: list[tuple[Document, list[Chunk]]], stored: dict[str, _StoredSource]
) -> list[str]:
    """Ids of the old chunks of the group's documents that the new chunks do not replace."""
    stale: list[str] = []
    for document, chunks in group:
        old = stored.get(document.source)
        if old is not None:
            new_ids = {chunk.id for chunk in chunks}
            stale.extend(chunk_id for chunk_id in old.ids if chunk_id not in new_ids)
    return stale


def _metadata(tenant: str, chunk: Chunk) -> dict[str, str | int]:
    metadata: dict[str, str | int] = {
        "tenant": tenant,
        "source": chunk.source,
        "title": chunk.title,
        "heading_path": chunk.heading,
        "locale": chunk.locale,
        "content_hash": chunk.content_hash,
        "schema_version": SCHEMA_VERSION,
        "position": chunk.position,
    }
    if chunk.url is not None:
        metadata["url"] = chunk.url
    return metadata


def _passages(result: QueryResult) -> Iterator[Passage]:
    ids = result["ids"][0] if result["ids"] else []
    documents = (result["documents"] or [[]])[0]
    metadatas = (result["metadatas"] or [[]])[0]
    distances = (result["distances"] or [[]])[0]
    for chunk_id, text, metadata, distance in zip(
        ids, documents, metadatas, distances, strict=True
    ):
        yield _passage(chunk_id, text or "", dict(metadata or {}), float(distance))


def _passage(chunk_id: str, text: str, metadata: dict[str, Any], distance: float) -> Passage:
    heading = str(metadata.get("heading_path") or "")
    url = metadata.get("url")
    return Passage(
        text=text,
        title=str(metadata.get("title", "")),
        heading_path=tuple(heading.split(HEADING_SEPARATOR)) if heading else (),
        source=str(metadata.get("source", "")),
        url=str(url) if url is not None else None,
        score=1.0 - distance,
        chunk_id=chunk_id,
        locale=str(metadata.get("locale", "en")),
    )
