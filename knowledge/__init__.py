"""The knowledge base: load documents, chunk them, embed them into Chroma, search them.

This package never imports ``agent``: the caller hands it a ``KnowledgeConfig``.
Importing it is fast; the embedding model is loaded on first use.
"""

from knowledge.config import KnowledgeConfig
from knowledge.embeddings import SentenceTransformerEmbeddings, model_slug
from knowledge.errors import IngestError, KnowledgeError, KnowledgeUnavailable
from knowledge.ingest import IngestReport, ingest_path
from knowledge.loaders import LoadResult, load_folder, load_path
from knowledge.store import KnowledgeStore, SyncSummary
from knowledge.types import Chunk, Document, Passage

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
    "SentenceTransformerEmbeddings",
    "SyncSummary",
    "ingest_path",
    "load_folder",
    "load_path",
    "model_slug",
]
