"""The embedded mode's checkpointer: langgraph-checkpoint-sqlite's AsyncSqliteSaver, plus
retention (``keep_last``), ``aprune``, ``acopy_thread`` and ``adelete_for_runs``.

Only the async API gains these; the sync methods are AsyncSqliteSaver's own (callable from
another thread than the event loop's).
"""

from collections.abc import Sequence

import aiosqlite
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent.runtime.checkpoint.errors import CheckpointError

_TRIM = """
DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id NOT IN (
    SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?
    ORDER BY checkpoint_id DESC LIMIT ?)
"""
_ORPHAN_WRITES = """
DELETE FROM writes WHERE thread_id = ? AND NOT EXISTS (
    SELECT 1 FROM checkpoints AS c WHERE c.thread_id = writes.thread_id
    AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)
"""
_NAMESPACES = "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?"
_RUN_ID = "json_extract(CAST(metadata AS TEXT), '$.run_id')"
_COPY_CHECKPOINTS = """
INSERT OR REPLACE INTO checkpoints
    (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata)
SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata
FROM checkpoints WHERE thread_id = ?
"""
_COPY_WRITES = """
INSERT OR REPLACE INTO writes
    (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value)
SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value
FROM writes WHERE thread_id = ?
"""


class SqliteCheckpointSaver(AsyncSqliteSaver):
    """AsyncSqliteSaver that keeps only the newest ``keep_last`` checkpoints per namespace."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        keep_last: int | None = None,
        serde: SerializerProtocol | None = None,
    ) -> None:
        if keep_last is not None and keep_last < 1:
            raise CheckpointError(f"keep_last must be at least 1, not {keep_last}")
        super().__init__(conn, serde=serde)
        self.keep_last = keep_last

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        stored: RunnableConfig = await super().aput(config, checkpoint, metadata, new_versions)
        if self.keep_last is not None:
            configurable = stored["configurable"]
            thread_id = str(configurable["thread_id"])
            await self._trim(thread_id, [configurable["checkpoint_ns"]], self.keep_last)
        return stored

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if strategy not in ("keep_latest", "delete"):
            raise CheckpointError(f"unknown prune strategy {strategy!r}: use keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
                continue
            await self.setup()
            async with self.lock, self.conn.execute(_NAMESPACES, (str(thread_id),)) as cursor:
                namespaces = [str(row[0]) for row in await cursor.fetchall()]
            await self._trim(str(thread_id), namespaces, 1)

    async def _trim(self, thread_id: str, namespaces: Sequence[str], keep: int) -> None:
        async with self.lock, self.conn.cursor() as cursor:
            for ns in namespaces:
                await cursor.execute(_TRIM, (thread_id, ns, thread_id, ns, keep))
            await cursor.execute(_ORPHAN_WRITES, (thread_id,))
            await self.conn.commit()

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = [str(run_id) for run_id in run_ids]
        if not runs:
            return
        await self.setup()
        marks = ", ".join("?" for _ in runs)
        async with self.lock, self.conn.cursor() as cursor:
            await cursor.execute(
                f"SELECT DISTINCT thread_id FROM checkpoints WHERE {_RUN_ID} IN ({marks})",  # noqa: S608
                runs,
            )
            thread_ids = [str(row[0]) for row in await cursor.fetchall()]
            await cursor.execute(
                f"DELETE FROM checkpoints WHERE {_RUN_ID} IN ({marks})",  # noqa: S608
                runs,
            )
            for thread_id in thread_ids:
                await cursor.execute(_ORPHAN_WRITES, (thread_id,))
            await self.conn.commit()

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self.setup()
        params = (str(target_thread_id), str(source_thread_id))
        async with self.lock, self.conn.cursor() as cursor:
            await cursor.execute(_COPY_CHECKPOINTS, params)
            await cursor.execute(_COPY_WRITES, params)
            await self.conn.commit()
