"""The admin stores' contract, for SQLite and Redis: tokens and the append-only audit log."""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from agent.admin.roles import Role
from agent.admin.tokens import hash_secret, issue_token, revoke_token, verify_token
from agent.runtime.admin_records import AuditEntry, AuditFilter
from agent.runtime.admin_stores import AuditLog, InvalidCursor, TokenStore
from agent.runtime.redis_admin import RedisAuditLog, RedisTokenStore
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_admin import SqliteAuditLog, SqliteTokenStore

Stores = tuple[TokenStore, AuditLog]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "admin.sqlite3")
        yield await SqliteTokenStore.open(database), await SqliteAuditLog.open(database)
        await database.close()
        return
    client: Redis = Redis.from_url(request.getfixturevalue("redis_url"))
    keys = RedisKeys(request.getfixturevalue("redis_prefix"))
    yield RedisTokenStore(client, keys), RedisAuditLog(client, keys)
    await client.aclose()


async def test_a_token_is_found_by_its_secret_and_never_stores_it(stores: Stores) -> None:
    tokens, _ = stores
    issued = await issue_token(tokens, "ci bot", Role.OPERATOR, "cli", tenant="demo")
    found = await verify_token(tokens, issued.secret)
    assert found is not None and found.id == issued.token.id
    assert (found.name, found.role, found.tenant, found.created_by) == (
        "ci bot",
        "operator",
        "demo",
        "cli",
    )
    assert found.secret_hash == hash_secret(issued.secret) != issued.secret
    assert issued.secret not in str(found.to_dict())
    assert await verify_token(tokens, issued.secret + "x") is None
    assert await tokens.by_hash(hash_secret("dhk_unknown")) is None


async def test_use_is_recorded(stores: Stores) -> None:
    tokens, _ = stores
    issued = await issue_token(tokens, "viewer", Role.VIEWER, "cli")
    assert (await tokens.get(issued.token.id)).last_used_at is None  # type: ignore[union-attr]
    before = time.time()
    await verify_token(tokens, issued.secret)
    used = await tokens.get(issued.token.id)
    assert used is not None and used.last_used_at is not None and used.last_used_at >= before
    await tokens.touch("tok_unknown", time.time())
    assert await tokens.get("tok_unknown") is None


async def test_a_revoked_token_no_longer_verifies(stores: Stores) -> None:
    tokens, _ = stores
    issued = await issue_token(tokens, "old", Role.ADMIN, "cli")
    revoked = await revoke_token(tokens, issued.token.id)
    assert revoked.revoked and revoked.revoked_at is not None
    assert await verify_token(tokens, issued.secret) is None
    again = await tokens.revoke(issued.token.id, time.time() + 100)
    assert again is not None and again.revoked_at == revoked.revoked_at  # the first time stays
    await tokens.touch(issued.token.id, time.time())  # a use racing a revocation keeps it
    still = await tokens.get(issued.token.id)
    assert still is not None and still.revoked_at == revoked.revoked_at
    assert await tokens.revoke("tok_unknown", time.time()) is None


async def test_all_lists_every_token_oldest_first(stores: Stores) -> None:
    tokens, _ = stores
    first = await issue_token(tokens, "one", Role.VIEWER, "cli")
    second = await issue_token(tokens, "two", Role.ADMIN, "one")
    await revoke_token(tokens, first.token.id)
    listed = await tokens.all()
    assert [t.id for t in listed] == [first.token.id, second.token.id]
    assert [t.revoked for t in listed] == [True, False]
    assert "secret_hash" not in listed[0].public()


def _entry(action: str, target: str, at: float, actor: str = "alice", **detail: Any) -> AuditEntry:
    return AuditEntry(actor, f"tok_{actor}", action, target, at, detail, "req-1", "10.0.0.1")


async def test_audit_entries_come_back_newest_first_with_their_detail(stores: Stores) -> None:
    _, audit = stores
    written = [
        await audit.append(_entry("token.create", f"tok_{i}", 1000.0 + i, note=f"é{i}"))
        for i in range(3)
    ]
    assert len({entry.id for entry in written}) == 3 and all(entry.id for entry in written)
    page = await audit.page(AuditFilter(), 50, None)
    assert [e.target for e in page.items] == ["tok_2", "tok_1", "tok_0"]
    assert page.next_cursor is None
    newest = page.items[0]
    assert (newest.actor, newest.actor_id, newest.action, newest.at) == (
        "alice",
        "tok_alice",
        "token.create",
        1002.0,
    )
    assert newest.detail == {"note": "é2"} and newest.request_id == "req-1"
    assert newest.ip == "10.0.0.1" and newest.id == written[2].id


async def test_audit_pages_follow_the_cursor_to_the_end(stores: Stores) -> None:
    _, audit = stores
    for i in range(7):
        await audit.append(_entry("approval.decide", f"apr_{i}", 2000.0 + i))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await audit.page(AuditFilter(), 3, cursor)
        assert len(page.items) <= 3
        seen += [e.target for e in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"apr_{i}" for i in reversed(range(7))]


async def test_audit_filters(stores: Stores) -> None:
    _, audit = stores
    await audit.append(_entry("token.create", "tok_a", 3000.0, actor="alice"))
    await audit.append(_entry("token.revoke", "tok_a", 3010.0, actor="bob"))
    await audit.append(_entry("approval.decide", "apr_1", 3020.0, actor="bob"))

    async def targets(**where: Any) -> list[tuple[str, str]]:
        page = await audit.page(AuditFilter(**where), 50, None)
        return [(e.action, e.target) for e in page.items]

    assert await targets(actor="bob") == [("approval.decide", "apr_1"), ("token.revoke", "tok_a")]
    assert await targets(actor="tok_alice") == [("token.create", "tok_a")]
    assert await targets(action="token.revoke") == [("token.revoke", "tok_a")]
    assert await targets(target="tok_a") == [("token.revoke", "tok_a"), ("token.create", "tok_a")]
    assert await targets(since=3010.0) == [("approval.decide", "apr_1"), ("token.revoke", "tok_a")]
    assert await targets(until=3010.0) == [("token.create", "tok_a")]
    assert await targets(since=3005.0, until=3015.0, actor="bob") == [("token.revoke", "tok_a")]
    assert await targets(actor="carol") == []


async def test_a_foreign_cursor_is_refused(stores: Stores) -> None:
    _, audit = stores
    with pytest.raises(InvalidCursor):
        await audit.page(AuditFilter(), 10, "not-a-cursor")
