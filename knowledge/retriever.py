"""Hybrid retrieval: dense (Chroma) and BM25 candidates, fused, optionally reranked.

For a query (built from the conversation by ``knowledge.query``) the retriever takes
the nearest chunks by embedding and the best chunks by BM25, merges the two rankings
with reciprocal rank fusion, drops chunks whose text repeats one ranked above, and,
when a cross-encoder is configured, reorders the best of them with it.

Every ``Passage.score`` is the cosine similarity of that chunk's embedding to the
query's, clipped to [0, 1], whichever list found it: a figure comparable across
queries, which the agent's ``retrieval.min_score`` threshold is set against.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.bm25 import Bm25Indexes
from knowledge.embeddings import model_slug
from knowledge.fusion import reciprocal_rank_fusion
from knowledge.query import Turn, query_parts
from knowledge.query_vectors import QueryEmbedder
from knowledge.records import StoredChunk, Vector
from knowledge.rerank import Reranker, probability
from knowledge.store import KnowledgeStore
from knowledge.types import HEADING_SEPARATOR, Passage
from knowledge.vector_cache import VectorCache

logger = logging.getLogger(__name__)

DEFAULT_CANDIDATES = 50
DEFAULT_RERANK_CANDIDATES = 20
AGREEMENT_BONUS = 0.1


@dataclass(frozen=True)
class RetrievalResult:
    """The passages found, best first, and how confident retrieval is that they answer.

    ``confidence`` is in [0, 1]. Without a reranker it is the highest cosine similarity
    among the passages, raised by ``AGREEMENT_BONUS`` of what it lacks to 1 when dense
    and BM25 search agree: their best chunks come from one document, that of the first
    passage. With a reranker it is the reranker's probability (sigmoid of its logit) that
    the first passage answers the query. No passages: 0.
    """

    passages: list[Passage]
    confidence: float


@dataclass(frozen=True)
class _Candidate:
    chunk: StoredChunk
    cosine: float


class Retriever:
    """Hybrid search over the knowledge base of any tenant; safe to share between threads."""

    def __init__(
        self,
        store: KnowledgeStore,
        reranker: Reranker | None = None,
        candidates: int = DEFAULT_CANDIDATES,
        rerank_candidates: int = DEFAULT_RERANK_CANDIDATES,
        refresh_s: float = 1.0,
        vector_cache: VectorCache | None = None,
    ) -> None:
        """``reranker`` defaults to the one the store's config names (none: no reranking).

        ``candidates`` chunks are taken from each of dense and BM25 search (at least the
        ``k`` asked for); a reranker reorders the best ``rerank_candidates`` after fusion.
        The BM25 indexes are saved beside an embedded store, kept in memory otherwise,
        and checked against their collection at most every ``refresh_s`` seconds.
        ``vector_cache`` keeps the query messages' vectors for every process that shares
        it (besides this process's own cache; see ``knowledge.query_vectors``).
        """
        config = store.config
        if reranker is None and config.reranker_model:
            reranker = Reranker(config.reranker_model, config.device)
        directory = config.persist_dir / "bm25" if config.chroma_url is None else None
        self._store = store
        self._reranker = reranker
        self._candidates = candidates
        self._rerank_candidates = rerank_candidates
        self._indexes = Bm25Indexes(store, directory, refresh_s)
        self._queries = QueryEmbedder(
            store.embeddings.embed, shared=vector_cache, model=model_slug(config.embedding_model)
        )

    @property
    def reranker(self) -> Reranker | None:
        return self._reranker

    def warm_up(self) -> None:
        """Load the embedding model (and learn its dimension, for a shared vector cache),
        and the reranker if there is one."""
        self._store.warm_up()
        self._queries.warm_up()
        if self._reranker is not None:
            self._reranker.warm_up()

    def search(
        self,
        tenant: str,
        query: str,
        k: int = 4,
        locale: str | None = None,
        history: Iterable[Turn] = (),
    ) -> RetrievalResult:
        """The ``k`` best passages for ``query`` (with the customer's earlier turns).

        ``locale`` keeps only chunks of that locale. ``history`` is the conversation
        before ``query``, oldest first (see ``knowledge.query.build_query``).
        """
        parts = query_parts(query, history)
        text = "\n".join(parts)
        index = self._indexes.index(tenant) if k >= 1 and text else None
        if index is None or not len(index):
            return RetrievalResult([], 0.0)
        vector = self._queries.vector(parts)
        pool = max(self._candidates, k)
        dense = self._store.nearest_ids(tenant, vector, pool, locale)
        lexical = [chunk_id for chunk_id, _ in index.search(text, pool, locale)]
        window = max(k, self._rerank_candidates) if self._reranker else k
        found, chunks = self._candidates_of(tenant, vector, dense, lexical, 2 * window)
        candidates = _deduplicated(found)[:window]
        if self._reranker is not None:
            candidates, confidence = _reranked(self._reranker, text, candidates)
        else:
            confidence = _confidence(candidates[:k], _agreed_source(dense, lexical, chunks))
        return RetrievalResult([c.chunk.passage(c.cosine) for c in candidates[:k]], confidence)

    def _candidates_of(
        self,
        tenant: str,
        vector: Vector,
        dense: list[tuple[str, float]],
        lexical: list[str],
        limit: int,
    ) -> tuple[list[_Candidate], dict[str, StoredChunk]]:
        """The first ``limit`` fused chunks, each with its cosine similarity to the query,
        and every chunk read (the fused ones and each list's best). Only these few are read
        from the store: the candidate lists are ids."""
        fused = [
            chunk_id for chunk_id, _ in reciprocal_rank_fusion([[i for i, _ in dense], lexical])
        ]
        fused = fused[:limit]
        cosines = dict(dense)
        wanted = list(
            dict.fromkeys([*fused, *(ids[0] for ids in ([i for i, _ in dense], lexical) if ids)])
        )
        needs_vectors = any(chunk_id not in cosines for chunk_id in wanted)
        chunks = self._store.fetch(tenant, wanted, vectors=needs_vectors)
        found = []
        for chunk_id in fused:
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            cosine = cosines.get(chunk_id)
            found.append(
                _Candidate(
                    chunk, _clipped(cosine if cosine is not None else _cosine(vector, chunk.vector))
                )
            )
        return found, chunks


def _deduplicated(candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Drop a chunk whose text (case and spacing aside) repeats one ranked above it."""
    seen: set[str] = set()
    kept: list[_Candidate] = []
    for candidate in candidates:
        key = " ".join(candidate.chunk.text.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


def _agreed_source(
    dense: list[tuple[str, float]], lexical: list[str], chunks: dict[str, StoredChunk]
) -> str | None:
    """The document of both the best dense chunk and the best BM25 chunk, if it is one."""
    if not dense or not lexical:
        return None
    top_dense, top_lexical = chunks.get(dense[0][0]), chunks.get(lexical[0])
    if top_dense is None or top_lexical is None:
        return None
    return top_dense.source if top_dense.source == top_lexical.source else None


def _confidence(returned: Sequence[_Candidate], agreed: str | None) -> float:
    if not returned:
        return 0.0
    best = max(candidate.cosine for candidate in returned)
    if agreed is not None and returned[0].chunk.source == agreed:
        return best + AGREEMENT_BONUS * (1.0 - best)
    return best


def _reranked(
    reranker: Reranker, query: str, candidates: list[_Candidate]
) -> tuple[list[_Candidate], float]:
    if not candidates:
        return [], 0.0
    logits = reranker.scores(query, [_rerank_text(c.chunk) for c in candidates])
    order = sorted(range(len(candidates)), key=lambda i: -logits[i])
    return [candidates[i] for i in order], probability(logits[order[0]])


def _rerank_text(chunk: StoredChunk) -> str:
    """The chunk as the reranker reads it: title and heading path, then the text."""
    title = str(chunk.metadata.get("title") or "")
    heading = str(chunk.metadata.get("heading_path") or "")
    context = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    return f"{context}\n\n{chunk.text}" if context else chunk.text


def _cosine(query: Vector, vector: Vector | None) -> float:
    if vector is None:
        return 0.0
    return _clipped(float(np.dot(query, vector)))


def _clipped(score: float) -> float:
    return min(1.0, max(0.0, score))
