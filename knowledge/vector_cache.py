"""Where query vectors are kept between turns: in this process, or in Redis for all of them.

A conversation's next turn usually runs in another worker process than the last one. With
``RedisVectorCache`` that process still finds the vectors of the customer's earlier
messages and embeds only the newest one. The Redis cache is best effort: an error reads as
a miss or drops the write, and is logged (a warning, at most once a minute); retrieval
never fails because of it.

Keys are the caller's (``QueryEmbedder`` uses ``vector_key``: the model, then a hash of
the text). A vector is kept as its float32 bytes; one that does not decode (or holds NaN
or infinity) reads as a miss.
"""

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import redis
import redis.cluster
from redis.exceptions import RedisClusterException, RedisError

log = logging.getLogger(__name__)

RedisClient = redis.Redis | redis.cluster.RedisCluster
DEFAULT_TTL_S = 86_400
WARNING_INTERVAL_S = 60.0
_FLOAT32 = np.dtype("<f4")
_UNAVAILABLE = (RedisError, RedisClusterException, OSError)


class VectorCache(Protocol):
    """Vectors by key; a miss is None. Thread-safe."""

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray | None]: ...

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None: ...


def vector_key(model: str, text: str) -> str:
    """``<model>:<blake2b hex of the text>``: the key of ``text``'s vector by ``model``."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    return f"{model}:{digest}"


def usable(vector: np.ndarray) -> np.ndarray | None:
    """``vector`` as a float32 vector, or None if it is not one (empty, not 1-D, NaN, inf)."""
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim != 1 or not array.size or not np.isfinite(array).all():
        return None
    return array


class MemoryVectorCache:
    """The most recently used ``max_entries`` vectors of this process (copies: what a
    caller does with a vector it wrote or read never changes the cache)."""

    def __init__(self, max_entries: int) -> None:
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        with self._lock:
            found = [self._vectors.get(key) for key in keys]
            for key, vector in zip(keys, found, strict=True):
                if vector is not None:
                    self._vectors.move_to_end(key)
        return [vector.copy() if vector is not None else None for vector in found]

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        kept = {
            key: array for key, vector in vectors.items() if (array := usable(vector)) is not None
        }
        with self._lock:
            for key, array in kept.items():
                self._vectors[key] = array.copy()
                self._vectors.move_to_end(key)
            while len(self._vectors) > self._max_entries:
                self._vectors.popitem(last=False)


class RedisVectorCache:
    """Vectors in Redis under ``<prefix>qvec:<key>``, each kept ``ttl_s`` seconds.

    ``client`` is a sync redis-py client (``Redis`` or ``RedisCluster``, answering bytes) of
    the cache's own, best with short timeouts and no retries (deskhand opens it with
    ``RedisOptions(fail_fast=True)``). A read and a write are each one pipeline, not a
    transaction: the keys may lie on any Cluster slot.
    """

    def __init__(self, client: RedisClient, prefix: str, ttl_s: int = DEFAULT_TTL_S) -> None:
        self._client = client
        self._prefix = f"{prefix}qvec:"
        self._ttl_s = ttl_s
        self._warned_at = -math.inf
        self._warning_lock = threading.Lock()

    def redis_key(self, key: str) -> str:
        return self._prefix + key

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        if not keys:
            return []
        try:
            pipeline = self._client.pipeline(transaction=False)
            for key in keys:
                pipeline.get(self.redis_key(key))
            values = pipeline.execute()
        except _UNAVAILABLE as error:
            self._warn("read", error)
            return [None] * len(keys)
        return [_decoded(value) for value in values]

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        kept = {
            key: array for key, vector in vectors.items() if (array := usable(vector)) is not None
        }
        if not kept:
            return
        try:
            pipeline = self._client.pipeline(transaction=False)
            for key, array in kept.items():
                pipeline.set(self.redis_key(key), array.astype(_FLOAT32).tobytes(), ex=self._ttl_s)
            pipeline.execute()
        except _UNAVAILABLE as error:
            self._warn("write", error)

    def _warn(self, action: str, error: BaseException) -> None:
        now = time.monotonic()
        with self._warning_lock:
            if now - self._warned_at < WARNING_INTERVAL_S:
                return
            self._warned_at = now
        log.warning(
            "the shared query-vector cache failed to %s, embedding without it "
            "(this warning repeats at most once a minute): %s: %s",
            action,
            type(error).__name__,
            error,
        )


def _decoded(value: object) -> np.ndarray | None:
    if not isinstance(value, bytes) or not value or len(value) % _FLOAT32.itemsize:
        return None
    return usable(np.frombuffer(value, dtype=_FLOAT32).astype(np.float32))  # a copy: writable
