"""The stats store in the embedded SQLite database: one row per tenant, minute and field."""

import time
from collections.abc import Callable, Sequence

from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.stats_records import STATS_VERSION, Counts, StatsRow, bucket_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stats (
    tenant TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    field TEXT NOT NULL,
    value INTEGER NOT NULL,
    v INTEGER NOT NULL,
    PRIMARY KEY (tenant, bucket, field)
);
CREATE INDEX IF NOT EXISTS stats_by_bucket ON stats (bucket);
"""
_ADD = """
INSERT INTO stats (tenant, bucket, field, value, v) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (tenant, bucket, field) DO UPDATE SET value = value + excluded.value
"""


class SqliteStats:
    def __init__(
        self, database: SqliteDatabase, retention_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._database = database
        self._retention_s = retention_s
        self._clock = clock
        self._pruned_bucket = -1

    @classmethod
    async def open(cls, database: SqliteDatabase, retention_s: float) -> "SqliteStats":
        async with database.transaction() as db:
            await db.executescript(_SCHEMA)
        return cls(database, retention_s)

    async def add(self, rows: Sequence[StatsRow]) -> None:
        oldest = self._oldest_bucket()
        values = [
            (row.tenant, bucket_of(row.at), name, count, STATS_VERSION)
            for row in rows
            if bucket_of(row.at) >= oldest
            for name, count in row.counts.items()
            if count
        ]
        prune = oldest > self._pruned_bucket  # at most once a minute
        if not values and not prune:
            return
        async with self._database.transaction() as db:
            await db.executemany(_ADD, values)
            if prune:
                await db.execute("DELETE FROM stats WHERE bucket < ?", (oldest,))
        self._pruned_bucket = max(self._pruned_bucket, oldest)

    async def totals(self, since: float, until: float, tenant: str | None = None) -> Counts:
        query = "SELECT field, SUM(value) FROM stats WHERE bucket >= ? AND bucket < ?"
        start = max(bucket_of(since), self._oldest_bucket())
        params: tuple[object, ...] = (start, until)
        if tenant is not None:
            query += " AND tenant = ?"
            params = (*params, tenant)
        async with (
            self._database.transaction() as db,
            db.execute(query + " GROUP BY field", params) as cursor,
        ):
            return {str(name): int(total) for name, total in await cursor.fetchall()}

    def _oldest_bucket(self) -> int:
        return bucket_of(self._clock() - self._retention_s)
