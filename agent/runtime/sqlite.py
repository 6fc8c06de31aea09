"""Embedded stores in one SQLite file: transcripts, conversation state and dedupe."""

import json
import time
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
    """One aiosqlite connection shared by the embedded stores of a process."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

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

    async def close(self) -> None:
        await self.connection.close()

    async def ping(self) -> None:
        try:
            await self.connection.execute("SELECT 1")
        except aiosqlite.Error as error:
            raise RuntimeStoreError(f"SQLite database unusable: {error}") from None


class SqliteTranscripts:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database.connection

    async def append(self, conversation_key: str, entry: TranscriptEntry) -> int:
        async with self._db.execute(
            "INSERT INTO transcript (conversation_key, position, entry) "
            "SELECT ?, COALESCE(MAX(position) + 1, 0), ? FROM transcript "
            "WHERE conversation_key = ? RETURNING position",
            (conversation_key, _dump(entry.to_dict()), conversation_key),
        ) as cursor:
            row = await cursor.fetchone()
        await self._db.commit()
        assert row is not None
        return int(row[0])

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        async with self._db.execute(
            "SELECT entry FROM transcript WHERE conversation_key = ? AND position > ? "
            "ORDER BY position",
            (conversation_key, after),
        ) as cursor:
            rows = await cursor.fetchall()
        return [TranscriptEntry.from_dict(json.loads(row[0])) for row in rows]

    async def state(self, conversation_key: str) -> ConversationState | None:
        async with self._db.execute(
            "SELECT state FROM conversation_state WHERE conversation_key = ?",
            (conversation_key,),
        ) as cursor:
            row = await cursor.fetchone()
        return ConversationState.from_dict(json.loads(row[0])) if row else None

    async def save_state(self, state: ConversationState) -> None:
        await self._db.execute(
            "INSERT INTO conversation_state (conversation_key, state) VALUES (?, ?) "
            "ON CONFLICT(conversation_key) DO UPDATE SET state = excluded.state",
            (state.key, _dump(state.to_dict())),
        )
        await self._db.commit()


class SqliteDedupe:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database.connection

    async def claim(self, key: str, ttl_s: int) -> bool:
        now = time.time()
        await self._db.execute("DELETE FROM dedupe WHERE key = ? AND expires_at <= ?", (key, now))
        async with self._db.execute(
            "INSERT OR IGNORE INTO dedupe (key, expires_at) VALUES (?, ?)", (key, now + ttl_s)
        ) as cursor:
            claimed = cursor.rowcount == 1
        await self._db.commit()
        return claimed

    async def release(self, key: str) -> None:
        await self._db.execute("DELETE FROM dedupe WHERE key = ?", (key,))
        await self._db.commit()


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
