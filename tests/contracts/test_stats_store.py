"""The contract every stats store keeps (SQLite and Redis): per-minute counts per tenant,
summed over a window, forgotten after the retention."""

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_stats import RedisStats
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_stats import SqliteStats
from agent.runtime.stats_records import HOUR_S, StatsRow, bucket_of, latency_bucket
from agent.runtime.stats_store import StatsStore

T0 = 1_700_000_040.0  # a minute's start (not an hour's)
RETENTION_S = 3600.0
DAY_S = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 600

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


STORES = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@asynccontextmanager
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock, retention_s: float
) -> AsyncIterator[StatsStore]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "stats.sqlite3")
        await SqliteStats.open(database, retention_s)  # creates the tables
        yield SqliteStats(database, retention_s, clock)
        await database.close()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    keys = RedisKeys(request.getfixturevalue("redis_prefix"))
    yield RedisStats(client, keys, retention_s, clock)
    await client.aclose()


@pytest.fixture(params=STORES)
async def stats(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[StatsStore]:
    async with open_store(request, tmp_path, clock, RETENTION_S) as store:
        yield store


@pytest.fixture(params=STORES)
async def month_of_stats(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[StatsStore]:
    """A store keeping 30 days; its clock three days after T0."""
    clock.now = T0 + 3 * DAY_S
    async with open_store(request, tmp_path, clock, 30 * DAY_S) as store:
        yield store


async def test_counts_add_up_within_a_bucket_and_across_buckets(stats: StatsStore) -> None:
    await stats.add([StatsRow("demo", T0 + 1, {"turns": 1, "tool:track": 2})])
    await stats.add(
        [
            StatsRow("demo", T0 + 59, {"turns": 1, "escalation:vip": 1}),
            StatsRow("demo", T0 + 60, {"turns": 3}),
        ]
    )
    totals = await stats.totals(T0, T0 + 120)
    assert totals == {"turns": 5, "tool:track": 2, "escalation:vip": 1}


async def test_a_window_holds_the_buckets_starting_in_it(stats: StatsStore) -> None:
    await stats.add([StatsRow("demo", T0 + 60 * i + 5, {"turns": 10**i}) for i in range(3)])
    assert await stats.totals(T0 + 60, T0 + 120) == {"turns": 10}
    # since rounds down to its minute; until is exclusive
    assert await stats.totals(T0 + 30, T0 + 61) == {"turns": 11}
    assert await stats.totals(T0 + 180, T0 + 600) == {}
    assert await stats.totals(T0, T0 + 600) == {"turns": 111}


async def test_a_tenant_sees_its_own_counts_and_none_means_all(stats: StatsStore) -> None:
    await stats.add([StatsRow("a", T0, {"turns": 1}), StatsRow("b", T0, {"turns": 2})])
    await stats.add([StatsRow("b", T0 + 60, {"rejection:bad_signature": 4})])
    assert await stats.totals(T0, T0 + 600, "a") == {"turns": 1}
    assert await stats.totals(T0, T0 + 600, "b") == {"turns": 2, "rejection:bad_signature": 4}
    assert await stats.totals(T0, T0 + 600, "c") == {}
    assert await stats.totals(T0, T0 + 600) == {"turns": 3, "rejection:bad_signature": 4}


async def test_zero_counts_and_empty_writes_store_nothing(stats: StatsStore) -> None:
    await stats.add([])
    await stats.add([StatsRow("demo", T0, {"turns": 0})])
    assert await stats.totals(T0, T0 + 600) == {}


async def test_latency_buckets_round_trip(stats: StatsStore) -> None:
    rows = [StatsRow("demo", T0, {latency_bucket(s): 1}) for s in (0.05, 0.3, 0.3, 500)]
    await stats.add(rows)
    assert await stats.totals(T0, T0 + 60) == {"latency:0": 1, "latency:2": 2, "latency:11": 1}


async def test_counts_older_than_the_retention_are_forgotten(
    stats: StatsStore, clock: Clock
) -> None:
    await stats.add([StatsRow("demo", clock.now - RETENTION_S - 120, {"turns": 1})])
    await stats.add([StatsRow("demo", T0, {"turns": 2})])
    assert await stats.totals(0, clock.now + 60) == {"turns": 2}
    clock.now = T0 + RETENTION_S + 120
    await stats.add([StatsRow("demo", clock.now, {"turns": 4})])
    assert await stats.totals(0, clock.now + 60) == {"turns": 4}
    assert bucket_of(clock.now) > T0


async def test_long_windows_sum_the_same_as_their_minutes(
    month_of_stats: StatsStore, clock: Clock
) -> None:
    """Whole hours are read from the hour rollup, the ends minute by minute: any window
    sums to exactly the counts of the minutes starting in it."""
    rng = random.Random(7)
    rows = sorted(
        (
            StatsRow(rng.choice("ab"), T0 + rng.uniform(0, 3 * DAY_S), {"turns": rng.randint(1, 3)})
            for _ in range(1500)
        ),
        key=lambda row: row.at,
    )
    end, clock.now = clock.now, T0
    for i in range(0, len(rows), 50):  # counted as time goes by
        clock.now = rows[i].at
        await month_of_stats.add(rows[i : i + 50])
    clock.now = end

    def expected(since: float, until: float, tenant: str | None) -> dict[str, int]:
        turns = sum(
            row.counts["turns"]
            for row in rows
            if bucket_of(since) <= bucket_of(row.at) < until and tenant in (None, row.tenant)
        )
        return {"turns": turns} if turns else {}

    hour = T0 - T0 % HOUR_S + HOUR_S
    windows = [
        (T0, clock.now + 60),  # all of it
        (hour, hour + 5 * HOUR_S),  # whole hours only
        (hour + 59, hour + 2 * HOUR_S + 1),  # ragged: minutes on both sides
        (hour + 600, hour + 1200),  # inside one hour
        (hour + 2 * DAY_S - 1, hour + 2 * DAY_S + 61),  # across an hour's edge
    ]
    windows += [tuple(sorted(rng.uniform(T0, clock.now) for _ in range(2))) for _ in range(20)]
    for since, until in windows:
        for tenant in (None, "a", "b"):
            got = await month_of_stats.totals(since, until, tenant)
            assert got == expected(since, until, tenant), (since - T0, until - T0, tenant)


# Upgrades: counts written before the hour rollup existed still count in long windows.

OLD_ROWS = [(T0 + 60 * i, i % 4 + 1) for i in range(0, 2 * 24 * 60, 7)]  # two days
OLD_TURNS = sum(turns for _, turns in OLD_ROWS)


async def test_sqlite_rolls_up_a_database_from_before_the_rollup(
    tmp_path: Path, clock: Clock
) -> None:
    database = await SqliteDatabase.open(tmp_path / "old.sqlite3")
    async with database.transaction() as db:
        await db.execute(
            "CREATE TABLE stats (tenant TEXT NOT NULL, bucket INTEGER NOT NULL, field TEXT "
            "NOT NULL, value INTEGER NOT NULL, v INTEGER NOT NULL, "
            "PRIMARY KEY (tenant, bucket, field))"
        )
        rows = [("demo", int(at), "turns", turns, 1) for at, turns in OLD_ROWS]
        await db.executemany("INSERT INTO stats VALUES (?, ?, ?, ?, ?)", rows)
    clock.now = T0 + 3 * DAY_S
    await SqliteStats.open(database, 30 * DAY_S)  # the upgrade
    store = SqliteStats(database, 30 * DAY_S, clock)
    await store.add([StatsRow("demo", clock.now, {"turns": 5})])
    try:
        assert await store.totals(T0, clock.now + 60) == {"turns": OLD_TURNS + 5}
        await SqliteStats.open(database, 30 * DAY_S)  # opened again: nothing counted twice
        assert await store.totals(T0, clock.now + 60, "demo") == {"turns": OLD_TURNS + 5}
    finally:
        await database.close()


@pytest.mark.redis
async def test_redis_reads_the_hours_from_before_the_rollup_minute_by_minute(
    redis_url: str, redis_prefix: str, clock: Clock
) -> None:
    client = Redis.from_url(redis_url)
    keys = RedisKeys(redis_prefix)
    for at, turns in OLD_ROWS:  # what an earlier version wrote: minutes, no hours
        await client.hset(keys.stats("demo", str(int(at))), mapping={"turns": turns, "v": 1})
        await client.expire(keys.stats("demo", str(int(at))), 60 * DAY_S)
        await client.zadd(keys.stats("demo", "buckets"), {str(int(at)): at})
    await client.sadd(keys.stats_tenants(), "demo")
    clock.now = T0 + 2 * DAY_S + 600
    store = RedisStats(client, keys, 30 * DAY_S, clock)
    try:
        for hour in range(4):  # this version counts for four hours
            await store.add([StatsRow("demo", clock.now + hour * HOUR_S, {"turns": 5})])
        clock.now += 4 * HOUR_S
        assert await store.totals(T0, clock.now) == {"turns": OLD_TURNS + 20}
    finally:
        await client.aclose()
