"""Chunks as Chroma holds them, and their conversion to Passages."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from chromadb.api.types import GetResult, QueryResult

from knowledge.types import HEADING_SEPARATOR, Passage

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the collection holds it: its text, its metadata and, if asked, its vector."""

    id: str
    text: str
    metadata: Mapping[str, Any]
    vector: Vector | None = None

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    @property
    def locale(self) -> str:
        return str(self.metadata.get("locale", "en"))

    def passage(self, score: float) -> Passage:
        """This chunk as a Passage with ``score`` (a cosine similarity)."""
        return passage_of(self.id, self.text, self.metadata, score)


def scored_chunks(result: QueryResult) -> Iterator[tuple[StoredChunk, float]]:
    """A query's chunks with their cosine similarity (``1 - distance`` in cosine space)."""
    ids = result["ids"][0] if result["ids"] else []
    documents = (result["documents"] or [[]])[0]
    metadatas = (result["metadatas"] or [[]])[0]
    distances = (result["distances"] or [[]])[0]
    for chunk_id, text, metadata, distance in zip(
        ids, documents, metadatas, distances, strict=True
    ):
        yield StoredChunk(chunk_id, text or "", dict(metadata or {})), 1.0 - float(distance)


def stored_chunks(page: GetResult) -> Iterator[StoredChunk]:
    """The chunks of a ``get``, in Chroma's order (not necessarily the order of the ids asked)."""
    ids = page["ids"]
    documents = page["documents"] or [""] * len(ids)
    metadatas: Sequence[Mapping[str, Any] | None] = page["metadatas"] or [None] * len(ids)
    vectors = page["embeddings"]
    for index, (chunk_id, text, metadata) in enumerate(zip(ids, documents, metadatas, strict=True)):
        vector = None if vectors is None else np.asarray(vectors[index], dtype=np.float32)
        yield StoredChunk(chunk_id, text or "", dict(metadata or {}), vector)


def passage_of(chunk_id: str, text: str, metadata: Mapping[str, Any], score: float) -> Passage:
    heading = str(metadata.get("heading_path") or "")
    url = metadata.get("url")
    return Passage(
        text=text,
        title=str(metadata.get("title", "")),
        heading_path=tuple(heading.split(HEADING_SEPARATOR)) if heading else (),
        source=str(metadata.get("source", "")),
        url=str(url) if url is not None else None,
        score=score,
        chunk_id=chunk_id,
        locale=str(metadata.get("locale", "en")),
    )
