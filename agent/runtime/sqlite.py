"""Embedded stores in one SQLite file: transcripts and conversation state (the dedupe table
belongs to the intake, agent.runtime.sqlite_mailboxes)."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from agent.runtime.models import ConversationState, TranscriptEntry
from agent.runtime.stores import RuntimeStoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transcript (
    conversation_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (conversation_key, position)
);
CREATE TABLE IF NOT EXISTS conversation_state (
    conversation_key TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dedupe (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""


class SqliteDatabase:
    """One aiosqlite connection shared by the embedded stores of a process.

    Every operation holds ``lock`` for its whole transaction: a shared connection with
    two coroutines interleaving statements fails ("SQL statements in progress").
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> "SqliteDatabase":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(path, timeout=10.0)
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.executescript(_SCHEMA)
            await connection.commit()
        except (OSError, aiosqlite.Error) as error:
            raise RuntimeStoreError(f"cannot open SQLite database {path}: {error}") from None
        return cls(connection)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, exclusively; committed on success, rolled back on error."""
        async with self._lock:
            try:
                yield self._connection
                await self._connection.commit()
            except aiosqlite.Error as error:
                await self._connection.rollback()
                raise RuntimeStoreError(f"SQLite failed: {error}") from None
            except BaseException:
                await self._connection.rollback()
                raise

    async def close(self) -> None:
        async with self._lock:
            await self._connection.close()

    async def ping(self) -> None:
        async with self.transaction() as db, db.execute("SELECT 1") as cursor:
            await cursor.fetchone()


class SqliteTranscripts:
    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def append(self, conversation_key: str, entry: TranscriptEntry) -> int:
        async with (
            self._database.transaction() as db,
            db.execute(
                "INSERT INTO transcript (conversation_key, position, entry) "
                "SELECT ?, COALESCE(MAX(position) + 1, 0), ? FROM transcript "
                "WHERE conversation_key = ? RETURNING position",
                (conversation_key, _dump(entry.to_dict()), conversation_key),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        async with self._database.transaction() as db:
            return await _entries(db, conversation_key, after)

    async def state(self, conversation_key: str) -> ConversationState | None:
        async with self._database.transaction() as db:
            return await _state(db, conversation_key)

    async def read(
        self, conversation_key: str, after: int = -1
    ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        """Both in one transaction: commits wait for the database's lock."""
        async with self._database.transaction() as db:
            state = await _state(db, conversation_key)
            return state, await _entries(db, conversation_key, after)

    async def save_state(self, state: ConversationState) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "INSERT INTO conversation_state (conversation_key, state) VALUES (?, ?) "
                "ON CONFLICT(conversation_key) DO UPDATE SET state = excluded.state",
                (state.key, _dump(state.to_dict())),
            )


async def _entries(
    db: aiosqlite.Connection, conversation_key: str, after: int
) -> list[TranscriptEntry]:
    async with db.execute(
        "SELECT entry FROM transcript WHERE conversation_key = ? AND position > ? "
        "ORDER BY position",
        (conversation_key, after),
    ) as cursor:
        rows = await cursor.fetchall()
    return [TranscriptEntry.from_dict(json.loads(row[0])) for row in rows]


async def _state(db: aiosqlite.Connection, conversation_key: str) -> ConversationState | None:
    async with db.execute(
        "SELECT state FROM conversation_state WHERE conversation_key = ?", (conversation_key,)
    ) as cursor:
        row = await cursor.fetchone()
    return ConversationState.from_dict(json.loads(row[0])) if row else None


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
