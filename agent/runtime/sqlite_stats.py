"""The stats store in the embedded SQLite database: one row per tenant, minute and field,
and one per tenant, hour and field (the rollup, agent.runtime.stats_records).

A database from before the rollup gets its hour rows summed from its minute rows when it
is opened (whenever the hour table is empty), so no count is lost to the upgrade.
"""

import time
from collections.abc import Callable, Sequence

from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.stats_records import (
    HOUR_S,
    STATS_VERSION,
    Counts,
    StatsRow,
    bucket_of,
    hour_of,
    plan_window,
)

# The hour table is filled from the minute rows whenever it is empty (3600: HOUR_S).
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
CREATE TABLE IF NOT EXISTS stats_hourly (
    tenant TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    field TEXT NOT NULL,
    value INTEGER NOT NULL,
    v INTEGER NOT NULL,
    PRIMARY KEY (tenant, bucket, field)
);
CREATE INDEX IF NOT EXISTS stats_hourly_by_bucket ON stats_hourly (bucket);
INSERT INTO stats_hourly (tenant, bucket, field, value, v)
SELECT tenant, bucket - bucket % 3600, field, SUM(value), MAX(v) FROM stats
WHERE NOT EXISTS (SELECT 1 FROM stats_hourly)
GROUP BY tenant, bucket - bucket % 3600, field;
"""
_UPSERT = """
INSERT INTO {table} (tenant, bucket, field, value, v) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (tenant, bucket, field) DO UPDATE SET value = value + excluded.value
"""
_ADD_MINUTE = _UPSERT.format(table="stats")
_ADD_HOUR = _UPSERT.format(table="stats_hourly")
# Each field summed over minute rows in [?, ?) and [?, ?) and hour rows in [?, ?).
_TOTALS = """
SELECT field, SUM(value) FROM (
    SELECT field, value FROM stats
    WHERE ((bucket >= ? AND bucket < ?) OR (bucket >= ? AND bucket < ?)){tenant}
    UNION ALL
    SELECT field, value FROM stats_hourly WHERE bucket >= ? AND bucket < ?{tenant}
) GROUP BY field
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
        counted = [
            (row.tenant, row.at, name, count)
            for row in rows
            if bucket_of(row.at) >= oldest
            for name, count in row.counts.items()
            if count
        ]
        prune = oldest > self._pruned_bucket  # at most once a minute
        if not counted and not prune:
            return
        async with self._database.transaction() as db:
            for add, bucket in ((_ADD_MINUTE, bucket_of), (_ADD_HOUR, hour_of)):
                values = [(t, bucket(at), f, n, STATS_VERSION) for t, at, f, n in counted]
                await db.executemany(add, values)
            if prune:
                await db.execute("DELETE FROM stats WHERE bucket < ?", (oldest,))
                # hours wholly before it (the one holding it stays, unread: its minutes are)
                await db.execute("DELETE FROM stats_hourly WHERE bucket <= ?", (oldest - HOUR_S,))
        self._pruned_bucket = max(self._pruned_bucket, oldest)

    async def totals(self, since: float, until: float, tenant: str | None = None) -> Counts:
        start = max(bucket_of(since), self._oldest_bucket())
        plan = plan_window(start, until)
        ranges = [*plan.minutes, (0, 0), (0, 0)][:2]  # (0, 0): an empty range
        params: list[object] = [bound for pair in ranges for bound in pair]
        params += plan.hours or (0, 0)
        query = _TOTALS.format(tenant="" if tenant is None else " AND tenant = ?")
        if tenant is not None:
            params = [*params[:4], tenant, *params[4:], tenant]
        async with self._database.transaction() as db, db.execute(query, params) as cursor:
            return {str(name): int(total) for name, total in await cursor.fetchall()}

    def _oldest_bucket(self) -> int:
        return bucket_of(self._clock() - self._retention_s)
