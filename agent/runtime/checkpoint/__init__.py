"""LangGraph checkpointers: Redis (production), SQLite (embedded mode), in-memory (tests).

The graph runs with ``thread_id`` = the conversation key. ``open_checkpointer`` builds one;
docs/checkpointer.md describes the Redis layout, retention and how they are tested.
"""

from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.checkpoint.factory import (
    CheckpointerKind,
    open_checkpointer,
    open_memory_checkpointer,
    open_redis_checkpointer,
    open_sqlite_checkpointer,
)
from agent.runtime.checkpoint.records import SCHEMA_VERSION
from agent.runtime.checkpoint.redis_saver import RedisCheckpointSaver
from agent.runtime.checkpoint.sqlite_saver import SqliteCheckpointSaver

__all__ = [
    "SCHEMA_VERSION",
    "CheckpointError",
    "CheckpointerKind",
    "RedisCheckpointSaver",
    "SqliteCheckpointSaver",
    "open_checkpointer",
    "open_memory_checkpointer",
    "open_redis_checkpointer",
    "open_sqlite_checkpointer",
]
