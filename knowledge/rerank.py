"""An optional cross-encoder reranker: reads the query and a passage together, scores the pair.

Off unless ``KnowledgeConfig.reranker_model`` names one (a sentence-transformers
``CrossEncoder`` name or path). The model loads on first use, offline: a model that
is not on this machine raises ``KnowledgeUnavailable`` naming it. Scores are the raw
logits (the model's own activation is switched off), so that ``probability`` (a
sigmoid) means the same for every model.
"""

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from knowledge.errors import KnowledgeError, KnowledgeUnavailable

DEFAULT_BATCH_SIZE = 16


class CrossEncoderModel(Protocol):
    """What the reranker needs of a model: sentence-transformers' ``CrossEncoder.predict``."""

    def predict(
        self, sentences: list[tuple[str, str]], batch_size: int, show_progress_bar: bool
    ) -> Any: ...


class Reranker:
    """Scores (query, passage) pairs with a cross-encoder; safe to share between threads."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int = DEFAULT_BATCH_SIZE,
        loader: Callable[[], CrossEncoderModel] | None = None,
    ) -> None:
        """``loader`` builds the model (by default: ``CrossEncoder(model)``, offline)."""
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._loader = loader or self._load
        self._encoder: CrossEncoderModel | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model now rather than on the first query."""
        with self._lock:
            self._loaded()

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """One logit per text, higher is more relevant to ``query``."""
        if not texts:
            return []
        pairs = [(query, text) for text in texts]
        with self._lock:  # tokenizers fail when one instance is used by two threads at once
            raw = self._loaded().predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        values = np.asarray(raw, dtype=np.float64).reshape(len(pairs), -1)
        if values.shape[1] != 1:
            raise KnowledgeError(
                f"reranker model {self.model!r} gives {values.shape[1]} scores per pair, not one"
            )
        return [float(value) for value in values[:, 0]]

    def _loaded(self) -> CrossEncoderModel:
        if self._encoder is None:
            self._encoder = self._loader()
        return self._encoder

    def _load(self) -> CrossEncoderModel:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a library switch: never reach a model hub
        try:
            import torch
            from sentence_transformers import CrossEncoder

            with _progress_bars_hidden():
                encoder: CrossEncoderModel = CrossEncoder(
                    self.model, device=self.device, activation_fn=torch.nn.Identity()
                )
        except Exception as error:  # any failure to load means no reranking at all
            raise KnowledgeUnavailable(
                f"reranker model {self.model!r} cannot be loaded on {self.device}: {error}"
            ) from error
        return encoder


def probability(logit: float) -> float:
    """A logit as a figure in [0, 1] (the logistic function), without overflow."""
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    exp = math.exp(logit)
    return exp / (1.0 + exp)


@contextmanager
def _progress_bars_hidden() -> Iterator[None]:
    """Keep transformers' "Loading weights" bar off the terminal."""
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
