"""Open the checkpointer a deployment asks for, as an async context manager::

    async with open_checkpointer("redis", url=settings.redis_url, keep_last=20) as saver:
        graph = builder.compile(checkpointer=saver)

``memory``: LangGraph's InMemorySaver (tests, one-off runs). ``sqlite``: the embedded mode's
file (``SqliteCheckpointSaver``). ``redis``: ``RedisCheckpointSaver``, on a client made
from ``url`` (closed on exit) or on one the caller passes and keeps owning.
"""

import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import aiosqlite
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from redis.exceptions import RedisClusterException, RedisError

from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.checkpoint.redis_io import AsyncClient, SyncClient
from agent.runtime.checkpoint.redis_saver import DEFAULT_PREFIX, RedisCheckpointSaver
from agent.runtime.checkpoint.sqlite_saver import SqliteCheckpointSaver

CheckpointerKind = Literal["memory", "sqlite", "redis"]


def open_checkpointer(
    kind: CheckpointerKind,
    *,
    path: Path | str | None = None,
    url: str | None = None,
    client: AsyncClient | None = None,
    keep_last: int | None = None,
    **redis_options: Any,
) -> AbstractAsyncContextManager[BaseCheckpointSaver[Any]]:
    """The checkpointer of ``kind``; ``redis_options`` go to ``open_redis_checkpointer``."""
    if kind == "memory":
        return open_memory_checkpointer()
    if kind == "sqlite":
        if path is None:
            raise CheckpointError("the SQLite checkpointer needs a file path")
        return open_sqlite_checkpointer(path, keep_last=keep_last)
    if kind == "redis":
        return open_redis_checkpointer(url, client=client, keep_last=keep_last, **redis_options)
    raise CheckpointError(f"unknown checkpointer kind {kind!r}: use memory, sqlite or redis")


@asynccontextmanager
async def open_memory_checkpointer() -> AsyncIterator[InMemorySaver]:
    yield InMemorySaver()


@asynccontextmanager
async def open_sqlite_checkpointer(
    path: Path | str, *, keep_last: int | None = None
) -> AsyncIterator[SqliteCheckpointSaver]:
    """A SQLite file of checkpoints (created with its folder when missing)."""
    file = Path(path)
    async with AsyncExitStack() as stack:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(str(file))
            stack.push_async_callback(conn.close)
            saver = SqliteCheckpointSaver(conn, keep_last=keep_last)
            await saver.setup()
        except (sqlite3.Error, OSError) as error:
            message = f"the checkpoint database {file} cannot be opened: {error}"
            raise CheckpointError(message) from None
        yield saver


@asynccontextmanager
async def open_redis_checkpointer(
    url: str | None = None,
    *,
    client: AsyncClient | None = None,
    cluster: bool = False,
    with_sync_client: bool = False,
    prefix: str = DEFAULT_PREFIX,
    ttl_s: float | None = None,
    keep_last: int | None = None,
    timeout_s: float = 5.0,
) -> AsyncIterator[RedisCheckpointSaver]:
    """A Redis checkpointer, checked with PING first: an unreachable Redis is an error.

    ``with_sync_client`` also opens a sync client from ``url`` (for ``graph.invoke``).
    """
    if client is None and url is None:
        raise CheckpointError("the Redis checkpointer needs a url or a client")
    async with AsyncExitStack() as stack:
        try:
            if client is None:
                client = _async_client(str(url), cluster, timeout_s)
                stack.push_async_callback(client.aclose)
            sync_client = None
            if with_sync_client and url:
                sync_client = _sync_client(url, cluster, timeout_s)
                stack.callback(sync_client.close)
            await client.ping()
        except (RedisError, RedisClusterException, OSError) as error:
            raise CheckpointError(f"the checkpoint Redis cannot be reached: {error}") from None
        yield RedisCheckpointSaver(
            client, sync_client=sync_client, prefix=prefix, ttl_s=ttl_s, keep_last=keep_last
        )


def _async_client(url: str, cluster: bool, timeout_s: float) -> AsyncClient:
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if cluster:
        return redis.asyncio.cluster.RedisCluster.from_url(url, **options)
    return redis.asyncio.Redis.from_url(url, **options)


def _sync_client(url: str, cluster: bool, timeout_s: float) -> SyncClient:
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if cluster:
        return redis.cluster.RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)
