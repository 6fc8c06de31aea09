"""Every runtime store implementation, as parametrized fixtures: one contract, all backends."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent.runtime.memory import MemoryLocks, MemoryTurnQueue
from agent.runtime.redis_stores import (
    RedisDedupe,
    RedisKeys,
    RedisLocks,
    RedisTranscripts,
    RedisTurnQueue,
)
from agent.runtime.sqlite import SqliteDatabase, SqliteDedupe, SqliteTranscripts


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    yield database
    await database.close()


@pytest.fixture
def keys(redis_prefix: str) -> RedisKeys:
    return RedisKeys(redis_prefix)


@pytest.fixture(params=["sqlite", "redis"])
def transcripts(request: pytest.FixtureRequest) -> object:
    if request.param == "sqlite":
        return SqliteTranscripts(request.getfixturevalue("sqlite_db"))
    return RedisTranscripts(_redis(request), request.getfixturevalue("keys"))


@pytest.fixture(params=["sqlite", "redis"])
def dedupe(request: pytest.FixtureRequest) -> object:
    if request.param == "sqlite":
        return SqliteDedupe(request.getfixturevalue("sqlite_db"))
    return RedisDedupe(_redis(request), request.getfixturevalue("keys"))


@pytest.fixture(params=["memory", "redis"])
def queue(request: pytest.FixtureRequest) -> object:
    if request.param == "memory":
        return MemoryTurnQueue()
    return RedisTurnQueue(_redis(request), request.getfixturevalue("keys"))


@pytest.fixture(params=["memory", "redis"])
def locks(request: pytest.FixtureRequest) -> object:
    if request.param == "memory":
        return MemoryLocks()
    return RedisLocks(_redis(request), request.getfixturevalue("keys"), poll_s=0.01)


def _redis(request: pytest.FixtureRequest) -> "Redis[bytes]":
    client: Redis[bytes] = request.getfixturevalue("redis_client")
    return client
