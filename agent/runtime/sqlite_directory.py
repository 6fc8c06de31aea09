"""The conversation directory in the embedded SQLite database: one row per conversation,
indexed by tenant, status and updated time (newest first)."""

import json
from typing import Any

from agent.runtime.directory import (
    ConversationSummary,
    DirectoryPage,
    DirectoryQuery,
    Position,
)
from agent.runtime.sqlite import SqliteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_directory (
    conversation_key TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    escalation_reason TEXT,
    updated_at REAL NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS directory_by_time
    ON conversation_directory (updated_at, conversation_key);
CREATE INDEX IF NOT EXISTS directory_by_tenant
    ON conversation_directory (tenant, updated_at, conversation_key);
CREATE INDEX IF NOT EXISTS directory_by_status
    ON conversation_directory (tenant, status, updated_at, conversation_key);
"""


class SqliteDirectory:
    """``ConversationDirectory`` over the embedded database."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    @classmethod
    async def open(cls, database: SqliteDatabase) -> "SqliteDirectory":
        async with database.transaction() as db:
            await db.executescript(_SCHEMA)
        return cls(database)

    async def put(self, summary: ConversationSummary) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO conversation_directory VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(conversation_key) DO UPDATE SET status = excluded.status, "
                "escalation_reason = excluded.escalation_reason, "
                "updated_at = excluded.updated_at, summary = excluded.summary",
                (
                    summary.key,
                    summary.tenant,
                    summary.channel,
                    summary.status.value,
                    summary.escalation_reason,
                    summary.updated_at,
                    _dump(summary.to_dict()),
                ),
            )

    async def get(self, conversation_key: str) -> ConversationSummary | None:
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT summary FROM conversation_directory WHERE conversation_key = ?",
                (conversation_key,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return ConversationSummary.from_dict(json.loads(row[0])) if row else None

    async def page(
        self, query: DirectoryQuery, limit: int, after: Position | None = None
    ) -> DirectoryPage:
        where, args = _conditions(query, after)
        sql = (
            "SELECT summary FROM conversation_directory"  # noqa: S608 (fixed clauses, bound values)
            f"{' WHERE ' + ' AND '.join(where) if where else ''} "
            "ORDER BY updated_at DESC, conversation_key DESC LIMIT ?"
        )
        async with self._database.transaction() as db, db.execute(sql, (*args, limit + 1)) as cur:
            rows = list(await cur.fetchall())
        items = [ConversationSummary.from_dict(json.loads(row[0])) for row in rows[:limit]]
        more = len(rows) > limit
        last = items[-1] if items else None
        return DirectoryPage(items, Position(last.updated_at, last.key) if more and last else None)

    async def erase(self, conversation_key: str) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "DELETE FROM conversation_directory WHERE conversation_key = ?",
                (conversation_key,),
            )


def _conditions(query: DirectoryQuery, after: Position | None) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    for column, value in (
        ("tenant", query.tenant),
        ("status", query.status.value if query.status else None),
        ("channel", query.channel),
        ("escalation_reason", query.escalation_reason),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if query.updated_since is not None:
        where.append("updated_at >= ?")
        args.append(query.updated_since)
    if query.updated_until is not None:
        where.append("updated_at <= ?")
        args.append(query.updated_until)
    if after is not None:
        where.append("(updated_at < ? OR (updated_at = ? AND conversation_key < ?))")
        args += [after.updated_at, after.updated_at, after.key]
    return where, args


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
