"""How to reach the vector store and which embedding model to use.

The package never reads deskhand settings or the environment: the caller builds
this object (``agent`` derives it from its ``Settings``).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[EmbeddingBackend, ...] = get_args(EmbeddingBackend)


@dataclass(frozen=True)
class KnowledgeConfig:
    """Where the knowledge base lives and how it is embedded.

    ``persist_dir`` is used by the embedded store; when ``chroma_url`` is set the
    store talks to that Chroma server instead. ``embedding_model`` is None for the
    packaged all-MiniLM-L6-v2, otherwise a sentence-transformers model name or path.
    ``backend`` chooses how it runs on the CPU (ONNX variants are exported once into
    ``models_dir``). ``reranker_model`` (a cross-encoder name or path) turns reranking on.
    """

    persist_dir: Path
    chroma_url: str | None = None
    embedding_model: str | None = None
    device: str = "cpu"
    batch_size: int = 32
    timeout_s: float = 10.0
    backend: EmbeddingBackend = "torch"
    models_dir: Path | None = None
    reranker_model: str | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
