"""Fixtures every suite may use."""

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
from redis.asyncio import Redis

from tests.support.redis_cluster import RedisToolsMissing, cluster_binaries, redis_cluster
from tests.support.redis_server import redis_for_tests


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
