"""A LangGraph checkpointer on plain Redis: no modules, Redis 6/7 or Valkey, Cluster-safe.

Key layout and record format: ``redis_keys`` and ``records``; what each operation does:
``redis_ops``; docs/checkpointer.md for the whole picture. Every key of a thread carries the
thread id as its hash tag, and every transaction stays within one thread.

The async methods use ``client``; the sync ones (``graph.invoke``) need ``sync_client``.
"""

import random
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.checkpoint.redis_io import (
    AsyncClient,
    Op,
    SyncClient,
    check_binary,
    run_async,
    run_sync,
    stream_async,
    stream_sync,
)
from agent.runtime.checkpoint.redis_keys import CheckpointKeys
from agent.runtime.checkpoint.redis_ops import CheckpointOps

DEFAULT_PREFIX = "deskhand:"


class RedisCheckpointSaver(BaseCheckpointSaver[str]):
    """LangGraph checkpoints, pending writes and channel blobs in Redis.

    ``ttl_s``: every key of a thread expires that long after the thread's last ``put``.
    ``keep_last``: after each ``put``, only the newest N checkpoints of that thread and
    namespace are kept, with their writes and the blobs they still read.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        sync_client: SyncClient | None = None,
        prefix: str = DEFAULT_PREFIX,
        ttl_s: float | None = None,
        keep_last: int | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if ttl_s is not None and ttl_s <= 0:
            raise CheckpointError(f"the checkpoint TTL must be positive, not {ttl_s}")
        if keep_last is not None and keep_last < 1:
            raise CheckpointError(f"keep_last must be at least 1, not {keep_last}")
        check_binary(client)
        if sync_client is not None:
            check_binary(sync_client)
        self.client = client
        self.sync_client = sync_client
        self.keys = CheckpointKeys(prefix)
        self.ttl_ms = None if ttl_s is None else max(1, round(ttl_s * 1000))
        self.keep_last = keep_last

    def _ops(self) -> CheckpointOps:
        # built per call: ``with_allowlist`` clones the saver with another serde
        return CheckpointOps(self.keys, self.serde, self.ttl_ms, self.keep_last)

    def _sync(self, op: Op[Any], doing: str) -> Any:
        return run_sync(self._require_sync_client(), op, doing)

    def _require_sync_client(self) -> SyncClient:
        if self.sync_client is None:
            raise CheckpointError(
                "this RedisCheckpointSaver has no sync client: pass sync_client=redis.Redis(...) "
                "or use the async API (ainvoke, aget_tuple, alist...)"
            )
        return self.sync_client

    # Sync API

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found: CheckpointTuple | None = self._sync(self._ops().get(config), "read a checkpoint")
        return found

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        client = self._require_sync_client()
        stream = self._ops().listing(config, filter, before, limit)
        return stream_sync(client, stream, "list checkpoints")

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        op = self._ops().put(config, checkpoint, metadata, new_versions)
        stored: RunnableConfig = self._sync(op, "store a checkpoint")
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        op = self._ops().put_writes(config, writes, task_id, task_path)
        self._sync(op, "store pending writes")

    def delete_thread(self, thread_id: str) -> None:
        self._sync(self._ops().delete_thread(thread_id), "delete a thread")

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._sync(self._ops().delete_for_runs(run_ids), "delete the checkpoints of runs")

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        op = self._ops().copy_thread(source_thread_id, target_thread_id)
        self._sync(op, "copy a thread")

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._sync(self._ops().prune(thread_ids, strategy), "prune threads")

    # Async API

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await run_async(self.client, self._ops().get(config), "read a checkpoint")

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        stream = self._ops().listing(config, filter, before, limit)
        async for found in stream_async(self.client, stream, "list checkpoints"):
            yield found

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        op = self._ops().put(config, checkpoint, metadata, new_versions)
        return await run_async(self.client, op, "store a checkpoint")

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        op = self._ops().put_writes(config, writes, task_id, task_path)
        await run_async(self.client, op, "store pending writes")

    async def adelete_thread(self, thread_id: str) -> None:
        await run_async(self.client, self._ops().delete_thread(thread_id), "delete a thread")

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        op = self._ops().delete_for_runs(run_ids)
        await run_async(self.client, op, "delete the checkpoints of runs")

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        op = self._ops().copy_thread(source_thread_id, target_thread_id)
        await run_async(self.client, op, "copy a thread")

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await run_async(self.client, self._ops().prune(thread_ids, strategy), "prune threads")

    def get_next_version(self, current: str | int | None, channel: None) -> str:
        """Versions like InMemorySaver's: a zero-padded counter, then a random fraction."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"
