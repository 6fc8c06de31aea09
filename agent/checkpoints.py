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
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from agent.config.settings import Settings
from agent.runtime.checkpoint.factory import open_redis_checkpointer, open_sqlite_checkpointer
from agent.runtime.factory import Runtime

# The types a turn's state holds: the only ones a checkpoint may bring back to life.
STATE_TYPES: tuple[tuple[str, str], ...] = (
    ("agent.graph.state", "Escalation"),
    ("agent.graph.state", "EscalationReason"),
    ("agent.graph.state", "Priority"),
    ("agent.graph.state", "Reply"),
    ("agent.graph.state", "TraceEvent"),
    ("agent.graph.state", "Signals"),
    ("agent.graph.state", "Memory"),
    ("agent.graph.state", "NewTurn"),
    ("agent.llm.types", "ChatMessage"),
    ("agent.llm.types", "ToolCall"),
    ("knowledge.types", "Passage"),
    ("tools.context", "Customer"),
    ("tools.approval", "ApprovalRequest"),
)


def state_serde() -> JsonPlusSerializer:
    """LangGraph's serializer, restricted to the turn state's own types."""
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


@asynccontextmanager
async def open_checkpointer(
    settings: Settings, runtime: Runtime
) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    keep = settings.checkpoint_keep
    if runtime.redis is None:
        path = settings.data_dir / "checkpoints.sqlite3"
        async with open_sqlite_checkpointer(path, keep_last=keep) as saver:
            saver.serde = state_serde()
            yield saver
        return
    async with open_redis_checkpointer(
        client=runtime.redis,
        prefix=settings.redis_prefix,
        ttl_s=settings.retention_days * 86_400,
        keep_last=keep,
    ) as saver:
        saver.serde = state_serde()
        yield saver
