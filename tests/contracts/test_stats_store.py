"""The contract every stats store keeps (SQLite and Redis): per-minute counts per tenant,
summed over a window, forgotten after the retention."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_stats import RedisStats
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_stats import SqliteStats
from agent.runtime.stats_records import StatsRow, bucket_of, latency_bucket
from agent.runtime.stats_store import StatsStore

T0 = 1_700_000_040.0  # a minute's start
RETENTION_S = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0 + 600

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def stats(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[StatsStore]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "stats.sqlite3")
        await SqliteStats.open(database, RETENTION_S)  # creates the table
        yield SqliteStats(database, RETENTION_S, clock)
        await database.close()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisStats(client, RedisKeys(request.getfixturevalue("redis_prefix")), RETENTION_S, clock)
    await client.aclose()


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
