"""Retention in embedded mode: idle conversations are erased, checkpoints included."""

import asyncio
import time
from pathlib import Path

from agent.retention import sweep, sweep_forever
from agent.runtime.directory import ConversationSummary
from agent.runtime.models import InboundMessage
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_directory import SqliteDirectory
from agent.runtime.sqlite_mailboxes import SqliteMailboxes
from tools.context import Customer


async def test_idle_conversations_are_erased_and_recent_ones_kept(tmp_path: Path) -> None:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    boxes = await SqliteMailboxes.open(database)
    transcripts = SqliteTranscripts(database)
    directory = await SqliteDirectory.open(database)
    forgotten: list[str] = []

    async def forget_thread(key: str) -> None:
        forgotten.append(key)

    try:
        old = InboundMessage("demo", "generic", "old", "m-1", "hi", Customer("c1"))
        await boxes.append(old, delay_s=0)
        await asyncio.sleep(0.3)
        recent = InboundMessage("demo", "generic", "new", "m-1", "hi", Customer("c2"))
        await boxes.append(recent, delay_s=0)
        for message in (old, recent):
            await directory.put(ConversationSummary.empty(message.conversation_key, 1.0))
        assert await sweep(boxes, forget_thread, idle_s=0.2, directory=directory) == 1
        assert forgotten == ["demo:generic:old"]
        assert await transcripts.entries("demo:generic:old") == []
        assert len(await transcripts.entries("demo:generic:new")) == 1
        assert await directory.get("demo:generic:old") is None
        assert await directory.get("demo:generic:new") is not None
        assert await boxes.customer_conversations("demo", "c1") == []
    finally:
        await database.close()


async def test_the_sweep_runs_until_stopped(tmp_path: Path) -> None:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    boxes = await SqliteMailboxes.open(database)
    sweeps: list[float] = []

    async def forget_thread(key: str) -> None:
        return None

    original = boxes.expired

    async def counting(idle_s: float) -> list[str]:
        sweeps.append(time.monotonic())
        return await original(idle_s)

    boxes.expired = counting  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(sweep_forever(boxes, forget_thread, 60, stop, every_s=0.05))
    await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(task, 1)
    await database.close()
    assert len(sweeps) >= 2
