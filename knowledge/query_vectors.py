"""The query vector of a conversation turn, from its messages' embeddings.

Each message is embedded on its own, once: a follow-up turn costs one short embedding
(the cost of a sentence-transformer grows with the text's length), the earlier messages'
vectors come from a small cache. The query vector is their weighted sum, normalised: the
latest message weighs 1, each earlier one ``decay`` times the one after it.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Embed = Callable[[Sequence[str]], Sequence[Any]]
DEFAULT_CACHE_SIZE = 4096
DEFAULT_DECAY = 0.8


class QueryEmbedder:
    """Thread-safe; ``embed`` is the store's embedding function (a batch of texts)."""

    def __init__(
        self, embed: Embed, cache_size: int = DEFAULT_CACHE_SIZE, decay: float = DEFAULT_DECAY
    ) -> None:
        self._embed = embed
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._decay = decay
        self._lock = threading.Lock()

    def vector(self, parts: Sequence[str]) -> np.ndarray:
        """The query vector of ``parts`` (latest message first), unit length."""
        vectors = self._vectors(parts)
        if len(vectors) == 1:
            return vectors[0]
        weights = np.array([self._decay**i for i in range(len(vectors))], dtype=np.float32)
        combined = np.sum(np.stack(vectors) * weights[:, None], axis=0)
        norm = float(np.linalg.norm(combined))
        unit: np.ndarray = combined / norm if norm else combined
        return unit

    def _vectors(self, parts: Sequence[str]) -> list[np.ndarray]:
        with self._lock:
            missing = [part for part in dict.fromkeys(parts) if part not in self._cache]
        if missing:
            fresh = [np.asarray(v, dtype=np.float32) for v in self._embed(missing)]
            with self._lock:
                for part, vector in zip(missing, fresh, strict=True):
                    self._remember(part, vector)
        with self._lock:
            found = [self._cache[part] for part in parts]
            for part in parts:
                self._cache.move_to_end(part)
        return found

    def _remember(self, part: str, vector: np.ndarray) -> None:
        self._cache[part] = vector
        self._cache.move_to_end(part)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
