"""The contract every query-vector cache keeps (this process's, Redis, Redis Cluster):
round trips, misses, no unusable vector ever read back; and, in Redis, the keys, the TTL
and a best effort that never raises."""

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from agent.runtime.redis_connection import RedisOptions, open_sync_redis
from knowledge.vector_cache import (
    DEFAULT_TTL_S,
    MemoryVectorCache,
    RedisClient,
    RedisVectorCache,
    VectorCache,
    vector_key,
)
from tests.support.redis_server import free_port

TIMEOUT_S = 0.5


@dataclass
class Backend:
    """A cache and, for Redis, its client and how it names a key in Redis."""

    cache: VectorCache
    client: RedisClient | None = None
    redis_key: Callable[[str], str] | None = None


def quick_client(url: str, cluster: bool = False) -> RedisClient:
    """A client as deskhand opens the cache's: TIMEOUT_S at most per read, no retries."""
    options = RedisOptions(url=url, timeout_s=TIMEOUT_S, cluster=cluster, fail_fast=True)
    return open_sync_redis(options)


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend(MemoryVectorCache(max_entries=100))
        return
    client: RedisClient
    if request.param == "redis-cluster":
        client = quick_client(request.getfixturevalue("redis_cluster_url"), cluster=True)
        prefix = f"deskhand-test-{uuid.uuid4().hex[:12]}:"  # a throwaway cluster
    else:
        client = quick_client(request.getfixturevalue("redis_url"))
        prefix = request.getfixturevalue("redis_prefix")
    cache = RedisVectorCache(client, prefix)
    yield Backend(cache, client, cache.redis_key)
    client.close()


def redis_only(backend: Backend) -> tuple[RedisClient, Callable[[str], str]]:
    if backend.client is None or backend.redis_key is None:
        pytest.skip("Redis only")
    return backend.client, backend.redis_key


def vector(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def keys(count: int) -> list[str]:
    """Keys as QueryEmbedder makes them, spread over Cluster slots."""
    return [vector_key("model-3d", f"message {i}") for i in range(count)]


def test_vectors_read_back_as_written_in_the_order_asked(backend: Backend) -> None:
    a, b, c = keys(3)
    backend.cache.put_many({a: vector(1, 0, 0), b: vector(0.25, -0.5, 1e-7), c: vector(0, 0, 1)})
    found = backend.cache.get_many([c, a, b])
    assert [v.tolist() if v is not None else None for v in found] == [
        [0, 0, 1],
        [1, 0, 0],
        vector(0.25, -0.5, 1e-7).tolist(),
    ]
    assert all(v is not None and v.dtype == np.float32 for v in found)


def test_a_key_never_written_is_a_miss_in_its_place(backend: Backend) -> None:
    a, b, c = keys(3)
    backend.cache.put_many({b: vector(1, 2, 3)})
    found = backend.cache.get_many([a, b, c])
    assert found[0] is None and found[2] is None
    assert found[1] is not None and found[1].tolist() == [1, 2, 3]
    assert backend.cache.get_many([]) == []


def test_a_new_vector_replaces_the_old(backend: Backend) -> None:
    (a,) = keys(1)
    backend.cache.put_many({a: vector(1, 0, 0)})
    backend.cache.put_many({a: vector(0, 1, 0)})
    (found,) = backend.cache.get_many([a])
    assert found is not None and found.tolist() == [0, 1, 0]


def test_a_vector_read_back_may_be_changed_by_its_reader(backend: Backend) -> None:
    (a,) = keys(1)
    backend.cache.put_many({a: vector(1, 0, 0)})
    (found,) = backend.cache.get_many([a])
    assert found is not None
    found *= 2  # raises on a read-only view of Redis's bytes
    (again,) = backend.cache.get_many([a])
    assert again is not None and again.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    "bad",
    [np.array([np.nan, 1.0]), np.array([np.inf]), np.zeros(0), np.eye(2)],
    ids=["nan", "infinite", "empty", "not-1-d"],
)
def test_an_unusable_vector_is_not_kept(backend: Backend, bad: np.ndarray) -> None:
    a, b = keys(2)
    backend.cache.put_many({a: bad, b: vector(1, 0, 0)})
    found = backend.cache.get_many([a, b])
    assert found[0] is None
    assert found[1] is not None


def test_redis_keeps_a_vector_as_float32_bytes_under_the_prefix_for_a_day(
    backend: Backend,
) -> None:
    client, redis_key = redis_only(backend)
    (a,) = keys(1)
    backend.cache.put_many({a: vector(0.5, -1, 2)})
    stored = redis_key(a)
    assert stored.endswith(f"qvec:{a}")
    assert client.get(stored) == vector(0.5, -1, 2).astype("<f4").tobytes()
    assert DEFAULT_TTL_S - 60 < int(client.ttl(stored)) <= DEFAULT_TTL_S


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00\x00\x80", vector(np.nan, 1).tobytes(), b"not a vector."],
    ids=["empty", "not-float32", "nan", "text"],
)
def test_redis_reads_a_value_that_is_not_a_vector_as_a_miss(backend: Backend, raw: bytes) -> None:
    client, redis_key = redis_only(backend)
    a, b = keys(2)
    backend.cache.put_many({b: vector(1, 0, 0)})
    client.set(redis_key(a), raw, ex=60)
    found = backend.cache.get_many([a, b])
    assert found[0] is None
    assert found[1] is not None and found[1].tolist() == [1, 0, 0]


def test_redis_cache_with_its_own_ttl(backend: Backend) -> None:
    client, _ = redis_only(backend)
    prefix = f"deskhand-test-{uuid.uuid4().hex[:12]}:"
    cache = RedisVectorCache(client, prefix, ttl_s=5)
    (a,) = keys(1)
    cache.put_many({a: vector(1)})
    assert 0 < int(client.ttl(cache.redis_key(a))) <= 5
    client.delete(cache.redis_key(a))


def test_the_memory_cache_forgets_the_least_recently_used() -> None:
    cache = MemoryVectorCache(max_entries=2)
    cache.put_many({"a": vector(1), "b": vector(2)})
    cache.get_many(["a"])  # a read counts as a use
    cache.put_many({"c": vector(3)})
    assert [v is not None for v in cache.get_many(["a", "b", "c"])] == [True, False, True]


# --- Redis unavailable: misses, dropped writes, a warning ------------------------------


def unreachable_cache() -> RedisVectorCache:
    client = quick_client(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    return RedisVectorCache(client, "deskhand-test-unreachable:")


def test_unreachable_redis_reads_as_misses_and_drops_writes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = unreachable_cache()
    (a,) = keys(1)
    with caplog.at_level(logging.WARNING, logger="knowledge.vector_cache"):
        cache.put_many({a: vector(1, 0, 0)})
        assert cache.get_many([a, a]) == [None, None]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # at most one a minute
    assert "query-vector cache" in warnings[0].getMessage()
    assert "ConnectionError" in warnings[0].getMessage()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        accepted: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            server.settimeout(0.1)
            while not stop.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield int(server.getsockname()[1])
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()


def test_a_redis_that_does_not_answer_costs_at_most_the_timeout(silent_server: int) -> None:
    client = quick_client(f"redis://127.0.0.1:{silent_server}/0")
    cache = RedisVectorCache(client, "deskhand-test-silent:")
    (a,) = keys(1)
    started = time.monotonic()
    assert cache.get_many([a]) == [None]
    cache.put_many({a: vector(1)})
    assert time.monotonic() - started < 4 * TIMEOUT_S
    client.close()
