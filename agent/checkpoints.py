"""The conversation checkpointer a process uses, chosen by the settings.

Embedded mode: a SQLite file beside the runtime database. Redis mode: the Redis
checkpointer on the runtime's own client (same TLS, Sentinel or Cluster settings).
Either keeps the newest ``DESKHAND_CHECKPOINT_KEEP`` checkpoints of a conversation;
Redis also expires a conversation's checkpoints with its other keys.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.config.settings import Settings
from agent.runtime.checkpoint.factory import open_redis_checkpointer, open_sqlite_checkpointer
from agent.runtime.factory import Runtime


@asynccontextmanager
async def open_checkpointer(
    settings: Settings, runtime: Runtime
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    keep = settings.checkpoint_keep
    if runtime.redis is None:
        path = settings.data_dir / "checkpoints.sqlite3"
        async with open_sqlite_checkpointer(path, keep_last=keep) as saver:
            yield saver
        return
    async with open_redis_checkpointer(
        client=runtime.redis,
        prefix=settings.redis_prefix,
        ttl_s=settings.retention_days * 86_400,
        keep_last=keep,
    ) as saver:
        yield saver
