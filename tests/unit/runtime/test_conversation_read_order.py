"""GET /v1/conversations/{key} (and the replay's own conversation read) shows a turn's reply
exactly when it shows the mode that turn set, however the turn's commit falls against the
read. Two reads in a row failed both ways: state first, the replay suite's ``handed_off``
check saw the reply with mode auto; entries first, ``deskhand say`` saw mode manual without
the reply and gave up waiting for it."""

from types import SimpleNamespace
from typing import Any

from agent.config.settings import DEMO_TENANTS_DIR
from agent.config.tenants import TenantRegistry
from agent.replay.routes import _conversation
from agent.runtime.models import (
    Author,
    ConversationState,
    InboundMessage,
    Mode,
    TranscriptEntry,
    TurnCommit,
)
from tests.unit.runtime.conftest import Runtime
from tools.context import Customer

KEY = "demo:generic:c-1"


class CommitAfterFirstRead:
    """The runtime's transcripts; the turn commits right after the first read of the
    entries or of the state returns (a one-moment ``read`` is the store's own)."""

    def __init__(self, runtime: Runtime, commit: Any) -> None:
        self._transcripts = runtime.transcripts
        self._commit = commit

    async def _commit_once(self) -> None:
        if self._commit is not None:
            commit, self._commit = self._commit, None
            await commit()

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        found = await self._transcripts.entries(conversation_key, after)
        await self._commit_once()
        return found

    async def state(self, conversation_key: str) -> ConversationState | None:
        found = await self._transcripts.state(conversation_key)
        await self._commit_once()
        return found

    async def read(
        self, conversation_key: str, after: int = -1
    ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        found = await self._transcripts.read(conversation_key, after)
        await self._commit_once()
        return found


async def handing_off(runtime: Runtime) -> CommitAfterFirstRead:
    """A customer's message taken by a turn that will hand the conversation to a person,
    committing right after the first read."""
    boxes = runtime.mailboxes
    message = InboundMessage("demo", "generic", "c-1", "m-1", "a person please", Customer("c"))
    await boxes.append(message, delay_s=0)
    claim = await boxes.claim(30, limit=5)
    assert claim is not None
    handed_off = ConversationState(KEY, Mode.MANUAL, escalation_reason="customer_request")
    reply = TranscriptEntry(Author.BOT, "A person will answer.", "m-1.reply")

    async def commit() -> None:
        await boxes.commit(claim, TurnCommit(1, (reply,), state=handed_off))

    return CommitAfterFirstRead(runtime, commit)


async def test_a_reply_read_comes_with_the_mode_its_turn_set(runtime: Runtime) -> None:
    transcripts = await handing_off(runtime)
    state, entries = await transcripts.read(KEY)
    replied = any(entry.author is Author.BOT for entry in entries)
    mode = state.mode if state else Mode.AUTO
    assert replied == (mode is Mode.MANUAL), f"reply read: {replied}, with mode {mode}"
    state, entries = await runtime.transcripts.read(KEY)
    assert [e.author for e in entries] == [Author.CUSTOMER, Author.BOT]
    assert state is not None and state.mode is Mode.MANUAL


async def test_the_replay_reads_a_reply_with_the_mode_its_turn_set(runtime: Runtime) -> None:
    transcripts = await handing_off(runtime)

    async def no_checkpoint(config: object) -> None:
        return None

    parts = SimpleNamespace(
        tenants=TenantRegistry.load(DEMO_TENANTS_DIR),
        runtime=SimpleNamespace(transcripts=transcripts),
        graph=SimpleNamespace(aget_state=no_checkpoint),
    )
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(components=parts)))
    data = await _conversation(KEY, request)  # type: ignore[arg-type]
    replied = any(entry["author"] == "bot" for entry in data["entries"])
    assert replied == (data["mode"] == "manual"), f"reply read: {replied}, mode {data['mode']}"
    data = await _conversation(KEY, request)  # type: ignore[arg-type]
    assert [e["author"] for e in data["entries"]] == ["customer", "bot"]
    assert data["mode"] == "manual"
