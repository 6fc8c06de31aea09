"""The admin stores in the embedded SQLite database: API tokens and the audit log."""

import json
from typing import Any

import aiosqlite

from agent.runtime.admin_records import AdminToken, AuditEntry, AuditFilter, AuditPage
from agent.runtime.admin_stores import InvalidCursor
from agent.runtime.sqlite import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS admin_token (
    id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit (at);
"""


async def _create_schema(database: SqliteDatabase) -> None:
    async with database.transaction() as db:
        await db.executescript(_SCHEMA)


class SqliteTokenStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    @classmethod
    async def open(cls, database: SqliteDatabase) -> "SqliteTokenStore":
        await _create_schema(database)
        return cls(database)

    async def add(self, token: AdminToken) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO admin_token (id, secret_hash, created_at, record) VALUES (?, ?, ?, ?)",
                (token.id, token.secret_hash, token.created_at, _dump(token.to_dict())),
            )

    async def by_hash(self, secret_hash: str) -> AdminToken | None:
        return await self._one("SELECT record FROM admin_token WHERE secret_hash = ?", secret_hash)

    async def get(self, token_id: str) -> AdminToken | None:
        return await self._one("SELECT record FROM admin_token WHERE id = ?", token_id)

    async def all(self) -> list[AdminToken]:
        async with (
            self._database.transaction() as db,
            db.execute("SELECT record FROM admin_token ORDER BY created_at, id") as cursor,
        ):
            rows = await cursor.fetchall()
        return [AdminToken.from_dict(json.loads(row[0])) for row in rows]

    async def revoke(self, token_id: str, at: float) -> AdminToken | None:
        async with self._database.transaction() as db:
            token = await _read(db, token_id)
            if token is None:
                return None
            revoked = token.with_revoked(at)
            await _write(db, revoked)
        return revoked

    async def touch(self, token_id: str, at: float) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "UPDATE admin_token SET record = json_set(record, '$.last_used_at', ?) "
                "WHERE id = ?",
                (at, token_id),
            )

    async def _one(self, query: str, value: str) -> AdminToken | None:
        async with (
            self._database.transaction() as db,
            db.execute(query, (value,)) as cursor,
        ):
            row = await cursor.fetchone()
        return AdminToken.from_dict(json.loads(row[0])) if row else None


async def _read(db: aiosqlite.Connection, token_id: str) -> AdminToken | None:
    async with db.execute("SELECT record FROM admin_token WHERE id = ?", (token_id,)) as cursor:
        row = await cursor.fetchone()
    return AdminToken.from_dict(json.loads(row[0])) if row else None


async def _write(db: aiosqlite.Connection, token: AdminToken) -> None:
    await db.execute(
        "UPDATE admin_token SET record = ? WHERE id = ?", (_dump(token.to_dict()), token.id)
    )


class SqliteAuditLog:
    """The audit table: rows are inserted, never updated or deleted."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    @classmethod
    async def open(cls, database: SqliteDatabase) -> "SqliteAuditLog":
        await _create_schema(database)
        return cls(database)

    async def append(self, entry: AuditEntry) -> AuditEntry:
        async with (
            self._database.transaction() as db,
            db.execute(
                "INSERT INTO audit (at, actor, actor_id, action, target, record) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING seq",
                (
                    entry.at,
                    entry.actor,
                    entry.actor_id,
                    entry.action,
                    entry.target,
                    _dump(entry.to_dict()),
                ),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return _with_id(entry.to_dict(), int(row[0]))

    async def page(self, where: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
        clauses, values = _conditions(where)
        if cursor is not None:
            clauses.append("seq < ?")
            values.append(_seq(cursor))
        sql = "SELECT seq, record FROM audit"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq DESC LIMIT ?"
        values.append(limit + 1)
        async with self._database.transaction() as db, db.execute(sql, values) as found:
            rows = list(await found.fetchall())
        items = [_with_id(json.loads(record), int(seq)) for seq, record in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(items, items[-1].id if more and items else None)


def _conditions(where: AuditFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    if where.actor is not None:
        clauses.append("(actor = ? OR actor_id = ?)")
        values += [where.actor, where.actor]
    for column, value in (("action", where.action), ("target", where.target)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    if where.since is not None:
        clauses.append("at >= ?")
        values.append(where.since)
    if where.until is not None:
        clauses.append("at < ?")
        values.append(where.until)
    return clauses, values


def _seq(cursor: str) -> int:
    if not cursor.isdigit():
        raise InvalidCursor(f"cursor {cursor!r} is not one this listing handed out")
    return int(cursor)


def _with_id(data: dict[str, Any], seq: int) -> AuditEntry:
    return AuditEntry.from_dict({**data, "id": str(seq)})


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
