"""The contract every conversation directory keeps (SQLite and Redis, standalone and Cluster)."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent.runtime.directory import (
    ConversationDirectory,
    ConversationSummary,
    DirectoryQuery,
    Position,
    Status,
)
from agent.runtime.models import Mode
from agent.runtime.redis_directory import RedisDirectory
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_directory import SqliteDirectory
from tests.contracts.conftest import redis_backend

NOW = 1_700_000_000.0


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def directory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[ConversationDirectory]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "directory.sqlite3")
        yield await SqliteDirectory.open(database)
        await database.close()
        return
    client, keys = redis_backend(request)
    yield RedisDirectory(client, keys, retention_s=10 * 365 * 86_400)
    await client.aclose()


def summary(
    key: str, at: float, status: Status = Status.AUTO, **extra: object
) -> ConversationSummary:
    base = ConversationSummary.empty(key, at)
    return replace(base, status=status, **extra)  # type: ignore[arg-type]


async def everything(
    directory: ConversationDirectory, query: DirectoryQuery, limit: int
) -> list[str]:
    """Every key the query lists, following the cursor to the end."""
    keys: list[str] = []
    after: Position | None = None
    for _ in range(100):
        page = await directory.page(query, limit, after)
        assert len(page.items) <= limit
        keys += [item.key for item in page.items]
        if page.next is None:
            return keys
        after = page.next
    raise AssertionError("the cursor never ended")


async def test_put_then_get_round_trips_every_field(directory: ConversationDirectory) -> None:
    record = summary(
        "demo:generic:c-1",
        NOW,
        Status.AWAITING_APPROVAL,
        mode=Mode.MANUAL,
        customer_id="cust_1",
        escalation_reason="approval_required",
        last_message={"author": "bot", "text": "wait", "at": NOW},
        counts={"customer": 2, "bot": 1},
        entries=3,
        last_customer_at=NOW - 1,
        approval_id="apr_1",
        draft={"message_id": "m-1.reply", "text": "hello"},
        resolved_at=None,
    )
    await directory.put(record)
    assert await directory.get("demo:generic:c-1") == record
    assert await directory.get("demo:generic:nope") is None


async def test_put_replaces_and_moves_between_statuses(directory: ConversationDirectory) -> None:
    await directory.put(summary("demo:generic:c-1", NOW, Status.AUTO))
    await directory.put(summary("demo:generic:c-1", NOW + 5, Status.ESCALATED))
    escalated = await directory.page(DirectoryQuery(status=Status.ESCALATED), 10)
    auto = await directory.page(DirectoryQuery(status=Status.AUTO), 10)
    assert [s.key for s in escalated.items] == ["demo:generic:c-1"] and escalated.next is None
    assert auto.items == []
    assert (await directory.get("demo:generic:c-1")).updated_at == NOW + 5  # type: ignore[union-attr]


async def test_listing_is_newest_first_and_pages_cover_everything_once(
    directory: ConversationDirectory,
) -> None:
    keys = [f"demo:generic:c-{i:02d}" for i in range(23)]
    for i, key in enumerate(keys):
        # pairs share an updated time: ties are ordered by key, and the cursor keeps them
        await directory.put(summary(key, NOW + i // 2))
    expected = sorted(keys, key=lambda k: (NOW + keys.index(k) // 2, k), reverse=True)
    assert await everything(directory, DirectoryQuery(), 4) == expected
    assert await everything(directory, DirectoryQuery(), 200) == expected


async def test_filters_by_tenant_status_channel_reason_and_time(
    directory: ConversationDirectory,
) -> None:
    records = [
        summary("demo:generic:a", NOW, Status.AUTO),
        summary("demo:zendesk:b", NOW + 1, Status.ESCALATED, escalation_reason="frustration"),
        summary("demo:generic:c", NOW + 2, Status.ESCALATED, escalation_reason="vip"),
        summary("acme:generic:d", NOW + 3, Status.ESCALATED, escalation_reason="frustration"),
        summary("acme:chatwoot:e", NOW + 4, Status.RESOLVED),
    ]
    for record in records:
        await directory.put(record)

    async def keys(**query: object) -> list[str]:
        return await everything(directory, DirectoryQuery(**query), 2)  # type: ignore[arg-type]

    assert await keys(tenant="demo") == ["demo:generic:c", "demo:zendesk:b", "demo:generic:a"]
    assert await keys(status=Status.ESCALATED) == [
        "acme:generic:d",
        "demo:generic:c",
        "demo:zendesk:b",
    ]
    assert await keys(tenant="demo", status=Status.ESCALATED) == [
        "demo:generic:c",
        "demo:zendesk:b",
    ]
    assert await keys(channel="generic") == ["acme:generic:d", "demo:generic:c", "demo:generic:a"]
    assert await keys(escalation_reason="frustration") == ["acme:generic:d", "demo:zendesk:b"]
    assert await keys(updated_since=NOW + 1, updated_until=NOW + 3) == [
        "acme:generic:d",
        "demo:generic:c",
        "demo:zendesk:b",
    ]
    assert await keys(tenant="nobody") == []


async def test_erase_removes_the_record_from_every_listing(
    directory: ConversationDirectory,
) -> None:
    await directory.put(summary("demo:generic:a", NOW, Status.ESCALATED))
    await directory.put(summary("demo:generic:b", NOW + 1, Status.ESCALATED))
    await directory.erase("demo:generic:a")
    await directory.erase("demo:generic:never")  # erasing what is not there is fine
    assert await directory.get("demo:generic:a") is None
    for query in (
        DirectoryQuery(),
        DirectoryQuery("demo"),
        DirectoryQuery(status=Status.ESCALATED),
    ):
        assert await everything(directory, query, 10) == ["demo:generic:b"]


@pytest.mark.redis
async def test_redis_forgets_what_the_retention_expired(redis_url: str, redis_prefix: str) -> None:
    """Summaries expire with the conversation's keys; the indexes drop them on the next
    listing, and a put drops members older than the retention."""
    client = Redis.from_url(redis_url)
    keys = RedisKeys(redis_prefix)
    directory = RedisDirectory(client, keys, retention_s=1)
    try:
        await directory.put(summary("demo:generic:old", NOW))
        await client.delete(keys.conversation("demo:generic:old", "summary"))  # expired
        assert (await directory.page(DirectoryQuery(), 10)).items == []
        assert await client.zcard(keys.directory("all")) == 0
        await directory.put(summary("demo:generic:older", NOW - 100))
        await directory.put(summary("demo:generic:new", NOW))
        assert await client.zrange(keys.directory("tenant:demo"), 0, -1) == [b"demo:generic:new"]
        assert 0 < await client.ttl(keys.conversation("demo:generic:new", "summary")) <= 1
    finally:
        await client.aclose()
