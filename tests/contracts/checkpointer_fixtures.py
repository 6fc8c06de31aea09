"""Every checkpointer implementation, as one parametrized fixture (import it to use it).

``memory``: LangGraph's InMemorySaver, the reference. ``sqlite``: the embedded mode's saver
on a temporary file. ``redis``: the Redis saver on the test Redis, under the test's own key
prefix. ``redis-cluster``: the same on a throwaway three-master Redis Cluster.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from langgraph.checkpoint.base import BaseCheckpointSaver
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from agent.runtime.checkpoint import (
    RedisCheckpointSaver,
    open_memory_checkpointer,
    open_sqlite_checkpointer,
)

__all__ = [
    "SAVER_KINDS",
    "SaverFactory",
    "saver_factory_fixture",
    "saver_fixture",
    "thread_config",
]

SAVER_KINDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
]


class SaverFactory:
    """Opens fresh savers of one kind; Redis ones share the test's key prefix."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self._request = request
        self._tmp_path = tmp_path
        self._opened = 0

    @asynccontextmanager
    async def open(self, **options: Any) -> AsyncIterator[BaseCheckpointSaver[Any]]:
        """A saver with no data of any other saver this factory opened."""
        self._opened += 1
        if self.kind == "memory":
            async with open_memory_checkpointer() as saver:
                yield saver
        elif self.kind == "sqlite":
            path = self._tmp_path / f"checkpoints-{self._opened}.sqlite3"
            async with open_sqlite_checkpointer(path, **options) as saver:
                yield saver
        else:
            async with self._redis(**options) as saver:
                yield saver

    @asynccontextmanager
    async def _redis(self, **options: Any) -> AsyncIterator[RedisCheckpointSaver]:
        prefix = f"{self._request.getfixturevalue('redis_prefix')}{self._opened}:"
        async with AsyncExitStack() as stack:
            if self.kind == "redis-cluster":
                url = self._request.getfixturevalue("redis_cluster_url")
                client: Redis | RedisCluster = RedisCluster.from_url(url)
                sync_client: redis.Redis | redis.cluster.RedisCluster = (
                    redis.cluster.RedisCluster.from_url(url)
                )
            else:
                url = self._request.getfixturevalue("redis_url")
                client, sync_client = Redis.from_url(url), redis.Redis.from_url(url)
            stack.push_async_callback(client.aclose)
            stack.callback(sync_client.close)
            yield RedisCheckpointSaver(client, sync_client=sync_client, prefix=prefix, **options)


@pytest.fixture(name="saver_factory", params=SAVER_KINDS)
def saver_factory_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> SaverFactory:
    return SaverFactory(str(request.param), request, tmp_path)


@pytest.fixture(name="saver")
async def saver_fixture(saver_factory: SaverFactory) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    async with saver_factory.open() as opened:
        yield opened


def thread_config(thread_id: str | None = None, ns: str = "", **extra: Any) -> dict[str, Any]:
    configurable = {"thread_id": thread_id or uuid.uuid4().hex, "checkpoint_ns": ns, **extra}
    return {"configurable": configurable}
