"""A real embedded runtime (SQLite mailboxes and transcripts) for the turn tests."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_mailboxes import SqliteMailboxes


@dataclass
class Runtime:
    mailboxes: SqliteMailboxes
    transcripts: SqliteTranscripts


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    database = await SqliteDatabase.open(tmp_path / "t.sqlite3")
    yield Runtime(await SqliteMailboxes.open(database), SqliteTranscripts(database))
    await database.close()
