"""The query vector of a conversation turn, from its messages' embeddings.

Each message is embedded on its own, once: a follow-up turn costs one short embedding
(the cost of a sentence-transformer grows with the text's length), the earlier messages'
vectors come from a cache. The query vector is their weighted sum, normalised: the
latest message weighs 1, each earlier one ``decay`` times the one after it.

The cache is this process's own (the most recent ``cache_size`` messages) and, when one
is given, a cache that every worker process shares (``knowledge.vector_cache``): the next
turn of a conversation may run in another process, which then still embeds only the new
message. Messages are looked up here first, then in the shared cache, and only those
found in neither are embedded, in one batch, and written to both.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from knowledge.vector_cache import MemoryVectorCache, VectorCache, vector_key

Embed = Callable[[Sequence[str]], Sequence[Any]]
DEFAULT_CACHE_SIZE = 4096
DEFAULT_DECAY = 0.8
DIMENSION_PROBE = "dimension"  # embedded once by warm_up(), to learn the model's dimension


class QueryEmbedder:
    """Thread-safe; ``embed`` is the store's embedding function (a batch of texts).

    ``shared`` is the cache shared with other processes; its keys name ``model`` and the
    vectors' dimension (``<model>-<dimension>d:<hash of the text>``), so that two models
    never read each other's vectors. The dimension is ``dimension`` when given, else
    learnt from the first embedding (``warm_up()`` makes one): until then the shared
    cache is written to, not read.
    """

    def __init__(
        self,
        embed: Embed,
        cache_size: int = DEFAULT_CACHE_SIZE,
        decay: float = DEFAULT_DECAY,
        shared: VectorCache | None = None,
        model: str = "model",
        dimension: int | None = None,
    ) -> None:
        self._embed = embed
        self._local = MemoryVectorCache(cache_size)
        self._shared = shared
        self._model = model
        self._dimension = dimension
        self._decay = decay

    def warm_up(self) -> None:
        """Learn the model's dimension now (one short embedding) if the shared cache needs it."""
        if self._shared is not None and self._dimension is None:
            self._embedded([DIMENSION_PROBE])

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
        texts = list(dict.fromkeys(parts))
        found = {
            text: vector
            for text, vector in zip(texts, self._local.get_many(texts), strict=True)
            if vector is not None
        }
        missing = [text for text in texts if text not in found]
        if missing:
            shared = self._from_shared(missing)
            fresh = self._embedded([text for text in missing if text not in shared])
            self._to_shared(fresh)
            self._local.put_many({**shared, **fresh})
            found.update(shared)
            found.update(fresh)
        return [found[part] for part in parts]

    def _embedded(self, texts: list[str]) -> dict[str, np.ndarray]:
        if not texts:
            return {}
        vectors = [np.asarray(v, dtype=np.float32) for v in self._embed(texts)]
        if self._dimension is None and vectors:
            self._dimension = int(vectors[0].shape[-1])
        return dict(zip(texts, vectors, strict=True))

    def _shared_key(self, text: str, dimension: int) -> str:
        return vector_key(f"{self._model}-{dimension}d", text)

    def _from_shared(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The vectors of ``texts`` in the shared cache; one of another dimension is a miss."""
        dimension = self._dimension
        if self._shared is None or dimension is None:
            return {}
        vectors = self._shared.get_many([self._shared_key(text, dimension) for text in texts])
        return {
            text: vector
            for text, vector in zip(texts, vectors, strict=True)
            if vector is not None and vector.shape == (dimension,)
        }

    def _to_shared(self, vectors: dict[str, np.ndarray]) -> None:
        dimension = self._dimension
        if self._shared is None or dimension is None:
            return
        fitting = {
            self._shared_key(text, dimension): vector
            for text, vector in vectors.items()
            if vector.shape == (dimension,)
        }
        if fitting:
            self._shared.put_many(fitting)
