"""Knowledge jobs in the embedded SQLite database: one row per job, the record as JSON
beside the columns the conditions and the listing need."""

import json
import time
from typing import Any

from agent.runtime.knowledge_jobs import (
    INTERRUPTED,
    KEPT_PER_TENANT,
    RETENTION_S,
    JobPage,
    KnowledgeJob,
    cursor_of,
    parse_cursor,
)
from agent.runtime.sqlite import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS knowledge_job (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL,
    owner TEXT NOT NULL,
    error TEXT,
    beat_at REAL,
    finished_at REAL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS knowledge_job_newest ON knowledge_job (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS knowledge_job_by_tenant
    ON knowledge_job (tenant, created_at DESC, id DESC);
"""
_UNFINISHED = "state IN ('queued', 'running')"
_BEAT = "UPDATE knowledge_job SET beat_at = ? WHERE "  # the column wins over the record's
_WRITE = (
    "UPDATE knowledge_job SET state = ?, owner = ?, error = ?, beat_at = ?, finished_at = ?, "
    "record = ? WHERE id = ? AND "
)
_KEPT = "NOT (state IN ('succeeded', 'failed') AND finished_at < ?)"


class SqliteKnowledgeJobs:
    def __init__(
        self,
        database: SqliteDatabase,
        retention_s: float = RETENTION_S,
        keep: int = KEPT_PER_TENANT,
    ) -> None:
        self._database = database
        self._retention_s = retention_s
        self._keep = keep

    @classmethod
    async def open(
        cls, database: SqliteDatabase, retention_s: float = RETENTION_S, keep: int = KEPT_PER_TENANT
    ) -> "SqliteKnowledgeJobs":
        async with database.transaction() as db:
            await db.executescript(_SCHEMA)
        return cls(database, retention_s, keep)

    async def create(self, job: KnowledgeJob) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO knowledge_job (id, tenant, created_at, state, owner, error, "
                "beat_at, finished_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.id, job.tenant, job.created_at, *_columns(job)),
            )
            await db.execute(
                "DELETE FROM knowledge_job WHERE state IN ('succeeded', 'failed') "
                "AND finished_at < ?",
                (self._expired_before(),),
            )
            await db.execute(
                "DELETE FROM knowledge_job WHERE tenant = ? AND state IN ('succeeded', 'failed') "
                "AND id NOT IN (SELECT id FROM knowledge_job WHERE tenant = ? "
                "ORDER BY created_at DESC, id DESC LIMIT ?)",
                (job.tenant, job.tenant, self._keep),
            )

    async def update(self, job: KnowledgeJob) -> bool:
        # Unfinished; or interrupted by a reader's verdict and this is the owner's end.
        condition = _UNFINISHED
        values: list[Any] = []
        if job.finished:
            condition = f"({_UNFINISHED} OR (state = 'failed' AND error = ? AND owner = ?))"
            values = [INTERRUPTED, job.owner]
        return await self._write(job, condition, values)

    async def beat(self, owner: str, job_ids: list[str], at: float) -> None:
        if not job_ids:
            return
        marks = ", ".join("?" for _ in job_ids)
        where = f"owner = ? AND {_UNFINISHED} AND id IN ({marks})"
        query = _BEAT + where
        async with self._database.transaction() as db:
            await db.execute(query, (at, owner, *job_ids))

    async def interrupt(self, job: KnowledgeJob, stale_before: float) -> bool:
        condition = f"{_UNFINISHED} AND COALESCE(beat_at, created_at) < ?"
        return await self._write(job, condition, [stale_before])

    async def get(self, job_id: str) -> KnowledgeJob | None:
        query = f"SELECT record, beat_at FROM knowledge_job WHERE id = ? AND {_KEPT}"  # noqa: S608
        async with (
            self._database.transaction() as db,
            db.execute(query, (job_id, self._expired_before())) as found,
        ):
            row = await found.fetchone()
        return _job(row) if row else None

    async def page(self, tenant: str | None, limit: int, cursor: str | None) -> JobPage:
        clauses = [_KEPT]
        values: list[Any] = [self._expired_before()]
        if tenant is not None:
            clauses.append("tenant = ?")
            values.append(tenant)
        if cursor is not None:
            created_at, job_id = parse_cursor(cursor)
            clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
            values += [created_at, created_at, job_id]
        query = (
            "SELECT record, beat_at FROM knowledge_job WHERE "  # noqa: S608
            + " AND ".join(clauses)
            + " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        values.append(limit + 1)
        async with self._database.transaction() as db, db.execute(query, values) as found:
            rows = list(await found.fetchall())
        items = [_job(row) for row in rows[:limit]]
        more = len(rows) > limit
        return JobPage(items, cursor_of(items[-1]) if more and items else None)

    async def _write(self, job: KnowledgeJob, condition: str, values: list[Any]) -> bool:
        query = _WRITE + condition
        async with self._database.transaction() as db:
            written = await db.execute(query, (*_columns(job), job.id, *values))
            return written.rowcount == 1

    def _expired_before(self) -> float:
        return time.time() - self._retention_s


def _job(row: Any) -> KnowledgeJob:
    return KnowledgeJob.from_dict({**json.loads(row[0]), "beat_at": row[1]})


def _columns(job: KnowledgeJob) -> tuple[Any, ...]:
    """state, owner, error, beat_at, finished_at, record."""
    record = json.dumps(job.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return job.state, job.owner, job.error, job.beat_at, job.finished_at, record
