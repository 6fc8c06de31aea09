"""Every runtime store implementation, as parametrized fixtures: one contract, all backends."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from agent.runtime.limits import MemoryUsageMeter, RedisUsageMeter
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_intake import RedisIntake
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes
from agent.runtime.redis_stores import RedisTranscripts
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_mailboxes import SqliteMailboxes
from agent.runtime.stores import Intake, Mailboxes, TranscriptStore


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


@dataclass
class Conversations:
    """One backend's mailboxes, the transcripts they write to and the webhook intake."""

    mailboxes: Mailboxes
    transcripts: TranscriptStore
    intake: Intake
    backend: str
    redis: AsyncRedis | None = None  # the Redis backends' client and keys
    keys: RedisKeys | None = None


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def conversations(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Conversations]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "mailboxes.sqlite3")
        mailboxes = await SqliteMailboxes.open(database)
        yield Conversations(mailboxes, SqliteTranscripts(database), mailboxes, "sqlite")
        await database.close()
        return
    client, keys = redis_backend(request)
    redis_boxes = RedisMailboxes(client, keys, 3600)
    intake = RedisIntake(client, keys, 3600, redis_boxes)
    yield Conversations(
        redis_boxes, RedisTranscripts(client, keys), intake, request.param, client, keys
    )
    await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def usage(request: pytest.FixtureRequest) -> object:
    if request.param == "memory":
        return MemoryUsageMeter()
    return RedisUsageMeter(_redis(request), request.getfixturevalue("keys"))


def redis_backend(request: pytest.FixtureRequest) -> tuple[AsyncRedis, RedisKeys]:
    """A new client and this run's keys for the ``redis`` or ``redis-cluster`` param (the
    cluster is a throwaway one: any prefix will do)."""
    if request.param == "redis-cluster":
        cluster = RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
        return cluster, RedisKeys(f"deskhand-test-{uuid.uuid4().hex[:12]}:")
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    return client, RedisKeys(request.getfixturevalue("redis_prefix"))


def _redis(request: pytest.FixtureRequest) -> "Redis[bytes]":
    client: Redis[bytes] = request.getfixturevalue("redis_client")
    return client
