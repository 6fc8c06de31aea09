"""Fixtures every suite may use."""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from knowledge.embeddings import export_model
from tests.support.redis_cluster import RedisToolsMissing, cluster_binaries, redis_cluster
from tests.support.redis_server import redis_for_tests

# ONNX exports of the embedding model, shared by every test and the processes they start
# (the auto backend exports once per models folder; a test's own data dir would redo it).
MODELS_DIR = Path(__file__).resolve().parent.parent / ".cache" / "models"


def pytest_configure(config: pytest.Config) -> None:
    models = Path(os.environ.setdefault("DESKHAND_EMBEDDING_MODELS_DIR", str(MODELS_DIR)))
    if not hasattr(config, "workerinput"):  # the controller: export once, before workers
        export_model(None, models)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_for_tests() as url:
        yield url


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """A throwaway three-master Redis Cluster for the session (skipped without redis-cli)."""
    try:
        cluster_binaries()
    except RedisToolsMissing as missing:
        pytest.skip(str(missing))
    with redis_cluster() as url:
        yield url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (and only those)."""
    prefix = f"deskhand-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator["Redis[bytes]"]:
    client: Redis[bytes] = Redis.from_url(redis_url)
    yield client
    await client.aclose()
