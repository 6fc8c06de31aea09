"""The knowledge base: load documents, chunk them, embed them into Chroma, search them.

This package never imports ``agent``: the caller hands it a ``KnowledgeConfig``.
Importing it is fast: the names below load their modules (and chromadb) on first
use, and the embedding model loads on first embedding.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.config import KnowledgeConfig
    from knowledge.embeddings import SentenceTransformerEmbeddings, model_slug
    from knowledge.errors import IngestError, KnowledgeError, KnowledgeUnavailable
    from knowledge.ingest import IngestReport, ingest_path
    from knowledge.loaders import LoadResult, load_folder, load_path
    from knowledge.retriever import RetrievalResult, Retriever
    from knowledge.store import KnowledgeStore, SyncSummary
    from knowledge.types import Chunk, Document, Passage

_EXPORTS = {
    "Chunk": "knowledge.types",
    "Document": "knowledge.types",
    "IngestError": "knowledge.errors",
    "IngestReport": "knowledge.ingest",
    "KnowledgeConfig": "knowledge.config",
    "KnowledgeError": "knowledge.errors",
    "KnowledgeStore": "knowledge.store",
    "KnowledgeUnavailable": "knowledge.errors",
    "LoadResult": "knowledge.loaders",
    "Passage": "knowledge.types",
    "RetrievalResult": "knowledge.retriever",
    "Retriever": "knowledge.retriever",
    "SentenceTransformerEmbeddings": "knowledge.embeddings",
    "SyncSummary": "knowledge.store",
    "ingest_path": "knowledge.ingest",
    "load_folder": "knowledge.loaders",
    "load_path": "knowledge.loaders",
    "model_slug": "knowledge.embeddings",
}

__all__ = [
    "Chunk",
    "Document",
    "IngestError",
    "IngestReport",
    "KnowledgeConfig",
    "KnowledgeError",
    "KnowledgeStore",
    "KnowledgeUnavailable",
    "LoadResult",
    "Passage",
    "RetrievalResult",
    "Retriever",
    "SentenceTransformerEmbeddings",
    "SyncSummary",
    "ingest_path",
    "load_folder",
    "load_path",
    "model_slug",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'knowledge' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
