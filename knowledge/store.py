"""The knowledge store: one Chroma collection per tenant and embedding model.

Embedded (``PersistentClient``) by default, a Chroma server (``HttpClient``) when
``chroma_url`` is set; ``knowledge.chroma`` opens the client and translates its errors.

Vectors are computed by our own embedding function and handed to Chroma, so
Chroma's default embedding function (which would download a model) never runs.
Safe for concurrent ``search`` calls from a threadpool; syncs run one at a time.

Besides ``search`` (dense only), the store offers what hybrid retrieval builds on
(``knowledge.retriever``): every chunk of a collection (``chunks``), a dense query by
vector (``nearest``), chunks by id with their vectors (``fetch``), and a fingerprint
of a collection that changes with every sync (``revision``).
"""

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection as ChromaCollection
from chromadb.api.types import Embeddable, EmbeddingFunction, Include

from knowledge.chroma import CollectionGone, conflict, connect, translated
from knowledge.chunking import chunk_document
from knowledge.config import KnowledgeConfig
from knowledge.embeddings import SentenceTransformerEmbeddings, model_label, model_slug
from knowledge.errors import KnowledgeError
from knowledge.records import StoredChunk, Vector, scored_chunks, stored_chunks
from knowledge.types import Chunk, Document, Passage

logger = logging.getLogger(__name__)

# Stored with every chunk. Bump it when chunking, metadata or the embedded text change:
# a sync then re-embeds every document whose chunks carry an older version.
SCHEMA_VERSION = 1
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_PAGE_SIZE = 1000
# Chunks a sync embeds, then writes, together: one Chroma call per window, and batches of
# texts of similar length (less padding) within it.
_SYNC_WINDOW = 512
# Collection metadata key: a fresh value after every sync that changed the collection.
_REVISION_KEY = "revision"
_SYNCED_AT_KEY = "synced_at"  # collection metadata: Unix time of the last change

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


@dataclass(frozen=True)
class SourceInfo:
    """One document (source) of a collection, for listings."""

    source: str
    title: str
    url: str | None
    chunks: int
    indexed_at: float | None  # when its chunks were last written (None: before this was kept)


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
        self._embeddings = embeddings or SentenceTransformerEmbeddings.from_config(config)
        self._collections: dict[str, ChromaCollection] = {}
        self._collections_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._generation = 0

    @classmethod
    def open(cls, config: KnowledgeConfig) -> "KnowledgeStore":
        """Open the embedded store or connect to the server; raise KnowledgeUnavailable."""
        return cls(connect(config), config)

    @property
    def embeddings(self) -> SentenceTransformerEmbeddings:
        return self._embeddings

    @property
    def config(self) -> KnowledgeConfig:
        return self._config

    @property
    def generation(self) -> int:
        """Counts the changes this process made to any collection (cheap to poll)."""
        return self._generation

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
        with translated("the knowledge store does not answer"):
            self._client.heartbeat()

    def search(
        self, tenant: str, query: str, k: int = 4, locale: str | None = None
    ) -> list[Passage]:
        """The ``k`` passages closest to ``query``, best first; [] when there is nothing."""
        if k < 1 or not query.strip() or self._collection(tenant) is None:
            return []
        vector = np.asarray(self._embeddings.embed([query])[0], dtype=np.float32)
        hits = self.nearest(tenant, vector, k, locale)
        return sorted((chunk.passage(score) for chunk, score in hits), key=_by_score, reverse=True)

    def nearest(
        self, tenant: str, vector: Vector, n: int, locale: str | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The ``n`` chunks closest to ``vector`` and their cosine similarity, best first."""
        result = self._query(tenant, vector, n, locale, ["documents", "metadatas", "distances"])
        return list(scored_chunks(result)) if result is not None else []

    def nearest_ids(
        self, tenant: str, vector: Vector, n: int, locale: str | None = None
    ) -> list[tuple[str, float]]:
        """The ids of the ``n`` chunks closest to ``vector`` and their cosine similarity,
        best first; no text is read (``fetch`` the few that are kept)."""
        result = self._query(tenant, vector, n, locale, ["distances"])
        if result is None or not result["ids"]:
            return []
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], distances, strict=True)]

    def _query(
        self, tenant: str, vector: Vector, n: int, locale: str | None, include: list[Any]
    ) -> Any:
        """Chroma's answer to a nearest-neighbour query, or None (no collection, ``n`` < 1)."""
        collection = self._collection(tenant)
        if collection is None or n < 1:
            return None
        try:
            with translated(f"cannot search the knowledge base of {tenant}", gone_ok=True):
                return collection.query(
                    query_embeddings=np.asarray([vector], dtype=np.float32),
                    n_results=n,
                    where={"locale": locale} if locale else None,
                    include=include,
                )
        except CollectionGone:
            self._forget(collection.name)
            return None

    def fetch(
        self, tenant: str, ids: Sequence[str], vectors: bool = False
    ) -> dict[str, StoredChunk]:
        """The chunks with these ids that exist, by id; with their vectors when asked."""
        collection = self._collection(tenant)
        if collection is None or not ids:
            return {}
        include: Include = ["documents", "metadatas", "embeddings"]
        if not vectors:
            include = ["documents", "metadatas"]
        try:
            with translated(f"cannot read the knowledge base of {tenant}", gone_ok=True):
                page = collection.get(ids=list(ids), include=include)
        except CollectionGone:
            self._forget(collection.name)
            return {}
        return {chunk.id: chunk for chunk in stored_chunks(page)}

    def chunks(self, tenant: str) -> Iterator[StoredChunk]:
        """Every chunk of the tenant's collection (text and metadata, no vectors), paged."""
        collection = self._collection(tenant)
        if collection is None:
            return
        offset = 0
        while True:
            try:
                with translated(f"cannot read the knowledge base of {tenant}", gone_ok=True):
                    page = collection.get(
                        include=["documents", "metadatas"], limit=_PAGE_SIZE, offset=offset
                    )
            except CollectionGone:
                self._forget(collection.name)
                return
            yield from stored_chunks(page)
            if len(page["ids"]) < _PAGE_SIZE:
                return
            offset += _PAGE_SIZE

    def revision(self, tenant: str) -> str | None:
        """A fingerprint of the tenant's collection; None when it has none.

        It changes whenever a sync changes the collection, in this process or in
        another one (``deskhand ingest`` beside a running server): it is read from
        Chroma each time, the collection's id and the stamp every sync writes into
        its metadata. A collection written before stamps existed is fingerprinted
        by its chunk count instead (slower on a large collection).
        """
        name = self.collection_name(tenant)
        try:
            with translated(f"cannot open the knowledge base of {tenant}", gone_ok=True):
                collection = self._client.get_collection(
                    name, embedding_function=self._chroma_embeddings
                )
                stamp = (collection.metadata or {}).get(_REVISION_KEY)
                if stamp is None:
                    stamp = f"count={collection.count()}"
        except CollectionGone:
            self._forget(name)
            return None
        except ValueError as error:
            raise conflict(name, error) from None
        return f"{collection.id}:{stamp}"

    def add_chunks(self, tenant: str, chunks: Sequence[Chunk], vectors: npt.ArrayLike) -> None:
        """Write chunks with vectors computed elsewhere (benchmarks, tests): nothing is embedded.

        Unlike ``sync_documents`` this neither plans nor removes anything: the chunks are
        upserted as they are, and the collection's revision changes.
        """
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(chunks):
            raise KnowledgeError("add_chunks needs one vector per chunk")
        with self._sync_lock:
            collection = self._create_collection(tenant)
            with translated(f"cannot write to the knowledge base of {tenant}"):
                for start in range(0, len(chunks), _PAGE_SIZE):
                    part = chunks[start : start + _PAGE_SIZE]
                    collection.upsert(
                        ids=[chunk.id for chunk in part],
                        embeddings=matrix[start : start + _PAGE_SIZE],
                        documents=[chunk.text for chunk in part],
                        metadatas=[_metadata(tenant, chunk) for chunk in part],
                    )
            self._bump_revision(collection)

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
        Documents are written whole, window by window, new chunks before the old ones
        are deleted: a sync that stops midway leaves every document searchable (old or
        new), and the next sync finishes the work (mixed chunks do not count as current).
        With ``delete_missing``, sources absent from ``documents`` are removed, except
        those in ``keep_sources`` (for example files that failed to load this time).
        ``progress(done, total)`` counts chunks embedded. Nothing to embed means the
        embedding model is never loaded.
        """
        with self._sync_lock:
            collection = self._create_collection(tenant)
            stored = self._stored_sources(collection)
            plan = self._plan(documents, stored, delete_missing, keep_sources)
            try:
                self._write(collection, tenant, plan, stored, progress)
                self._remove_sources(collection, plan.removed_sources, stored)
            finally:  # even a sync that stopped midway may have changed the collection
                if plan.writes or plan.removed_sources:
                    self._bump_revision(collection)
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
        except CollectionGone:
            self._forget(self.collection_name(tenant))
            stored = {}
        return {"chunks": sum(len(s.ids) for s in stored.values()), "documents": len(stored)}

    def sources(self, tenant: str) -> list[SourceInfo]:
        """Every document of the tenant's collection with its chunk count, by source."""
        found: dict[str, SourceInfo] = {}
        for chunk in self.chunks(tenant):
            meta = chunk.metadata
            known = found.get(chunk.source)
            indexed = meta.get("indexed_at")
            at = float(indexed) if isinstance(indexed, int | float) else None
            if known is not None:
                latest = max((t for t in (known.indexed_at, at) if t is not None), default=None)
                found[chunk.source] = SourceInfo(
                    known.source, known.title, known.url, known.chunks + 1, latest
                )
                continue
            url = meta.get("url")
            found[chunk.source] = SourceInfo(
                chunk.source, str(meta.get("title", "")), str(url) if url else None, 1, at
            )
        return [found[source] for source in sorted(found)]

    def last_synced(self, tenant: str) -> float | None:
        """Unix time of the last change to the tenant's collection (None: unknown or none)."""
        collection = self._collection(tenant)
        if collection is None:
            return None
        try:
            with translated(f"cannot open the knowledge base of {tenant}", gone_ok=True):
                fresh = self._client.get_collection(
                    collection.name, embedding_function=self._chroma_embeddings
                )
        except CollectionGone:
            self._forget(collection.name)
            return None
        stamp = (fresh.metadata or {}).get(_SYNCED_AT_KEY)
        return float(stamp) if isinstance(stamp, int | float) else None

    def delete_source(self, tenant: str, source: str) -> int:
        """Remove one document's chunks; how many were removed (0: no such source)."""
        with self._sync_lock:
            collection = self._collection(tenant)
            if collection is None:
                return 0
            stored = self._stored_sources(collection).get(source)
            if stored is None:
                return 0
            self._remove_sources(collection, [source], {source: stored})
            self._bump_revision(collection)
        return len(stored.ids)

    def reembed(self, tenant: str, progress: ProgressCallback | None = None) -> int:
        """Embed every stored chunk again with the current model and rewrite its vector
        (a damaged index, a changed embedding backend); how many chunks. Texts and
        metadata stay as they are."""
        with self._sync_lock:
            collection = self._collection(tenant)
            if collection is None:
                return 0
            stored = list(self.chunks(tenant))
            tracker = _Progress(progress, total=len(stored))
            tracker.advance(0)
            for start in range(0, len(stored), _SYNC_WINDOW):
                window = stored[start : start + _SYNC_WINDOW]
                chunks = [_as_chunk(chunk) for chunk in window]
                vectors = self._embed_chunks(chunks, tracker.advance)
                with translated(f"cannot write to the knowledge base of {tenant}"):
                    collection.upsert(
                        ids=[chunk.id for chunk in window],
                        embeddings=vectors,
                        documents=[chunk.text for chunk in window],
                        metadatas=[dict(chunk.metadata) for chunk in window],
                    )
            if stored:
                self._bump_revision(collection)
        return len(stored)

    def _collection(self, tenant: str) -> ChromaCollection | None:
        """The tenant's collection if it exists (cached: searches are frequent)."""
        name = self.collection_name(tenant)
        with self._collections_lock:
            cached = self._collections.get(name)
        if cached is not None:
            return cached
        try:
            with translated(f"cannot open the knowledge base of {tenant}", gone_ok=True):
                collection = self._client.get_collection(
                    name, embedding_function=self._chroma_embeddings
                )
        except CollectionGone:
            return None
        except ValueError as error:
            raise conflict(name, error) from None
        return self._remember(collection)

    def _create_collection(self, tenant: str) -> ChromaCollection:
        """The tenant's collection, created if missing; never from the cache (it may be stale)."""
        name = self.collection_name(tenant)
        try:
            with translated(f"cannot open the knowledge base of {tenant}"):
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
            raise conflict(name, error) from None
        self._forget(name)
        return self._remember(collection)

    def _bump_revision(self, collection: ChromaCollection) -> None:
        """Stamp the collection as changed, for ``revision`` readers in any process."""
        metadata = {
            **(collection.metadata or {}),
            _REVISION_KEY: uuid.uuid4().hex,
            _SYNCED_AT_KEY: time.time(),
        }
        with translated(f"cannot update collection {collection.name}"):
            collection.modify(metadata=metadata)
        self._generation += 1

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
        tracker = _Progress(progress, total=sum(len(chunks) for _, chunks in plan.writes))
        tracker.advance(0)
        for group in _groups(plan.writes, _SYNC_WINDOW):
            chunks = [chunk for _, doc_chunks in group for chunk in doc_chunks]
            vectors = self._embed_chunks(chunks, tracker.advance)
            with translated(f"cannot write to the knowledge base of {tenant}"):
                for start in range(0, len(chunks), _PAGE_SIZE):  # one huge document, too
                    part = chunks[start : start + _PAGE_SIZE]
                    collection.upsert(
                        ids=[chunk.id for chunk in part],
                        embeddings=vectors[start : start + _PAGE_SIZE],
                        documents=[chunk.text for chunk in part],
                        metadatas=[_metadata(tenant, chunk) for chunk in part],
                    )
                stale = _stale_ids(group, stored)
                for start in range(0, len(stale), _PAGE_SIZE):  # Chroma caps one call's batch
                    collection.delete(ids=stale[start : start + _PAGE_SIZE])

    def _embed_chunks(self, chunks: Sequence[Chunk], embedded: Callable[[int], None]) -> Vector:
        """The chunks' vectors, in order; ``embedded(count)`` after each batch.

        Batches of texts of similar length waste little on padding, so the whole window
        is sorted by length before being cut into batches, as sentence-transformers sorts
        the texts of one call.
        """
        texts = [chunk.embedding_text for chunk in chunks]
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        size = self._embeddings.batch_size
        parts: list[Vector] = []
        for start in range(0, len(order), size):
            batch = [texts[index] for index in order[start : start + size]]
            parts.append(np.asarray(self._embeddings.embed(batch), dtype=np.float32))
            embedded(len(batch))
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        return vectors

    def _remove_sources(
        self, collection: ChromaCollection, sources: Sequence[str], stored: dict[str, _StoredSource]
    ) -> None:
        ids = [chunk_id for source in sources for chunk_id in stored[source].ids]
        with translated("cannot remove documents from the knowledge base"):
            for start in range(0, len(ids), _PAGE_SIZE):
                collection.delete(ids=ids[start : start + _PAGE_SIZE])


@dataclass
class _Progress:
    """Counts the chunks a sync has embedded, for its progress callback."""

    callback: ProgressCallback | None
    total: int
    done: int = 0

    def advance(self, count: int) -> None:
        self.done += count
        if self.callback:
            self.callback(self.done, self.total)


def _all_metadata(
    collection: ChromaCollection, gone_ok: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    offset = 0
    while True:
        with translated(f"cannot read collection {collection.name}", gone_ok=gone_ok):
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


def _metadata(tenant: str, chunk: Chunk) -> dict[str, str | int | float]:
    metadata: dict[str, str | int | float] = {
        "tenant": tenant,
        "source": chunk.source,
        "title": chunk.title,
        "heading_path": chunk.heading,
        "locale": chunk.locale,
        "content_hash": chunk.content_hash,
        "schema_version": SCHEMA_VERSION,
        "position": chunk.position,
        "indexed_at": time.time(),
    }
    if chunk.url is not None:
        metadata["url"] = chunk.url
    return metadata


def _as_chunk(stored: StoredChunk) -> Chunk:
    """A stored chunk as the Chunk it was made from (for its embedding text)."""
    passage = stored.passage(0.0)
    return Chunk(
        id=stored.id,
        text=stored.text,
        title=passage.title,
        heading_path=passage.heading_path,
        source=passage.source,
        position=int(stored.metadata.get("position", 0)),
        content_hash=str(stored.metadata.get("content_hash", "")),
        locale=passage.locale,
        url=passage.url,
    )


def _by_score(passage: Passage) -> float:
    return passage.score
