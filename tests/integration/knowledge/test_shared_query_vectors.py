"""Query vectors shared through Redis: a conversation's next turn, in another process,
embeds only its newest message; Redis down costs embeddings, never a retrieval."""

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import numpy as np
import pytest
import redis

from agent.components import shared_query_vectors
from agent.config.settings import Settings
from agent.runtime.factory import open_runtime
from agent.runtime.redis_connection import RedisOptions, open_sync_redis
from knowledge import Document, KnowledgeConfig, KnowledgeStore, Retriever
from knowledge.query_vectors import DIMENSION_PROBE, QueryEmbedder
from knowledge.vector_cache import RedisVectorCache, vector_key
from tests.support.redis_server import free_port

pytestmark = pytest.mark.redis

DIMENSION = 8
MODEL = "fake"


class CountingEmbed:
    """A stand-in for the model: a fixed unit vector per text; records each batch."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.calls.append(list(texts))
        return [_fake_vector(text) for text in texts]


def _fake_vector(text: str) -> np.ndarray:
    digest = hashlib.sha256(text.encode()).digest()[:DIMENSION]
    vector = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) - 127.5
    unit: np.ndarray = vector / np.linalg.norm(vector)
    return unit


@pytest.fixture
def clients(redis_url: str) -> Iterator[list[redis.Redis]]:
    """A client per "process" (each process opens its own)."""
    options = RedisOptions(url=redis_url, timeout_s=0.5, fail_fast=True)
    opened = [open_sync_redis(options) for _ in range(2)]
    yield opened
    for client in opened:
        client.close()


def embedder(
    client: redis.Redis, prefix: str, model: str = MODEL, dimension: int | None = DIMENSION
) -> tuple[QueryEmbedder, CountingEmbed]:
    embed = CountingEmbed()
    cache = RedisVectorCache(client, prefix)
    return QueryEmbedder(embed, shared=cache, model=model, dimension=dimension), embed


FIRST_TURN = ["where is my order 1042?", "hello"]
SECOND_TURN = ["it was due on monday", *FIRST_TURN]


def unshared(parts: list[str]) -> np.ndarray:
    return QueryEmbedder(CountingEmbed()).vector(parts)


def test_the_next_turn_in_another_process_embeds_only_the_new_message(
    clients: list[redis.Redis], redis_prefix: str
) -> None:
    first, first_embed = embedder(clients[0], redis_prefix)
    second, second_embed = embedder(clients[1], redis_prefix)
    first.vector(FIRST_TURN)
    vector = second.vector(SECOND_TURN)
    assert first_embed.calls == [FIRST_TURN]
    assert second_embed.calls == [["it was due on monday"]]
    assert np.allclose(vector, unshared(SECOND_TURN), atol=1e-6)
    key = f"{redis_prefix}qvec:{vector_key(f'{MODEL}-{DIMENSION}d', 'hello')}"
    assert clients[0].get(key) == _fake_vector("hello").astype("<f4").tobytes()


def test_warm_up_learns_the_dimension_so_the_first_turn_reads_the_shared_cache(
    clients: list[redis.Redis], redis_prefix: str
) -> None:
    first, _ = embedder(clients[0], redis_prefix, dimension=None)
    first.vector(FIRST_TURN)  # learns the dimension from its embeddings, then writes
    cold, cold_embed = embedder(clients[1], redis_prefix, dimension=None)
    cold.vector(SECOND_TURN)
    assert cold_embed.calls == [SECOND_TURN]  # dimension unknown: the shared cache unread
    warm, warm_embed = embedder(clients[1], redis_prefix, dimension=None)
    warm.warm_up()
    warm.vector(["still nothing", *SECOND_TURN])
    assert warm_embed.calls == [[DIMENSION_PROBE], ["still nothing"]]


@pytest.mark.parametrize(
    ("model", "dimension"), [("another-model", DIMENSION), (MODEL, 2 * DIMENSION)]
)
def test_another_model_or_dimension_reads_no_vector_of_this_one(
    clients: list[redis.Redis], redis_prefix: str, model: str, dimension: int
) -> None:
    first, _ = embedder(clients[0], redis_prefix)
    first.vector(FIRST_TURN)
    other, other_embed = embedder(clients[1], redis_prefix, model=model, dimension=dimension)
    other.vector(FIRST_TURN)
    assert other_embed.calls == [FIRST_TURN]


def test_a_shared_vector_of_another_length_is_embedded_again(
    clients: list[redis.Redis], redis_prefix: str
) -> None:
    key = f"{redis_prefix}qvec:{vector_key(f'{MODEL}-{DIMENSION}d', 'hello')}"
    clients[0].set(key, np.ones(DIMENSION - 1, dtype="<f4").tobytes(), ex=60)
    queries, embed = embedder(clients[1], redis_prefix)
    vector = queries.vector(["hello"])
    assert embed.calls == [["hello"]]
    assert np.allclose(vector, _fake_vector("hello"))


def test_with_redis_unreachable_the_vector_is_embedded_and_a_warning_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = RedisOptions(url=f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5, fail_fast=True)
    client = open_sync_redis(options)  # a closed port
    queries, embed = embedder(client, "deskhand-test-unreachable:")
    with caplog.at_level(logging.WARNING, logger="knowledge.vector_cache"):
        vector = queries.vector(SECOND_TURN)
    assert embed.calls == [SECOND_TURN]
    assert np.allclose(vector, unshared(SECOND_TURN), atol=1e-6)
    assert any("query-vector cache" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    client.close()


# --- through the retriever ------------------------------------------------------------


SHOP = [
    Document("orders.md", "Late orders", "## Late orders\n\nAn order is due within five days."),
    Document("hours.md", "Opening hours", "## Weekdays\n\nThe shop is open from nine to six."),
]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KnowledgeStore:
    """An embedded store whose "model" is the fake one (nothing loads)."""
    opened = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path / "chroma"))
    monkeypatch.setattr(opened.embeddings, "embed", CountingEmbed())
    monkeypatch.setattr(opened.embeddings, "warm_up", lambda: None)
    opened.sync_documents("shop", SHOP)
    return opened


def test_two_retrievers_sharing_redis_embed_each_message_once(
    store: KnowledgeStore, clients: list[redis.Redis], redis_prefix: str
) -> None:
    embed = store.embeddings.embed
    assert isinstance(embed, CountingEmbed)
    first = Retriever(store, vector_cache=RedisVectorCache(clients[0], redis_prefix))
    second = Retriever(store, vector_cache=RedisVectorCache(clients[1], redis_prefix))
    first.warm_up()
    second.warm_up()  # a worker process warms up when it starts
    embed.calls.clear()
    first.search("shop", "where is my order?", k=1)
    history = [{"role": "user", "content": "where is my order?"}]
    result = second.search("shop", "it is late", k=1, history=history)
    assert embed.calls == [["where is my order?"], ["it is late"]]
    assert result.passages
    stored = list(clients[0].scan_iter(match=f"{redis_prefix}qvec:*"))
    assert len(stored) == 2
    assert all(k.startswith(f"{redis_prefix}qvec:all-minilm-l6-v2-8d:".encode()) for k in stored)


# --- the wiring -------------------------------------------------------------------------


async def test_on_the_redis_runtime_processes_share_vectors_under_its_prefix(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, redis_url=redis_url, redis_prefix=redis_prefix, data_dir=tmp_path
    )
    runtime = await open_runtime(settings)
    resources = AsyncExitStack()
    try:
        cache = shared_query_vectors(settings, runtime, resources)
        assert isinstance(cache, RedisVectorCache)
        cache.put_many({"model-1d:abc": np.ones(1)})
        assert cache.redis_key("model-1d:abc") == f"{redis_prefix}qvec:model-1d:abc"
        check = redis.Redis.from_url(redis_url)
        assert check.get(f"{redis_prefix}qvec:model-1d:abc") == np.ones(1, "<f4").tobytes()
        check.close()
    finally:
        await resources.aclose()  # Components.close closes the client this way
        await runtime.close()


async def test_in_embedded_mode_each_process_keeps_its_own(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    runtime = await open_runtime(settings)
    try:
        assert shared_query_vectors(settings, runtime, AsyncExitStack()) is None
    finally:
        await runtime.close()
