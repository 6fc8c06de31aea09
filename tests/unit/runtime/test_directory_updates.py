"""The directory summary folded from the transcript and state: counts, status, drafts,
resolution; idempotent and catching up after a missed update (real SQLite stores)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.admin.directory import DirectoryUpdates, Noted
from agent.approvals import decide
from agent.runtime.directory import Status
from agent.runtime.models import (
    ApprovalRecord,
    Author,
    ConversationState,
    Mode,
    TranscriptEntry,
    TurnCommit,
)
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_directory import SqliteDirectory
from agent.runtime.sqlite_mailboxes import SqliteMailboxes

KEY = "demo:generic:c-1"


@dataclass
class Stores:
    updates: DirectoryUpdates
    transcripts: SqliteTranscripts
    mailboxes: SqliteMailboxes
    directory: SqliteDirectory
    drafts: set[str]


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    transcripts = SqliteTranscripts(database)
    mailboxes = await SqliteMailboxes.open(database)
    directory = await SqliteDirectory.open(database)
    drafts: set[str] = set()
    updates = DirectoryUpdates(directory, transcripts, mailboxes, lambda t: t in drafts)
    yield Stores(updates, transcripts, mailboxes, directory, drafts)
    await database.close()


def said(author: Author, text: str, at: float, **meta: object) -> TranscriptEntry:
    return TranscriptEntry(author, text, f"{author.value}-{at}", at, meta=dict(meta))


async def test_nothing_known_means_no_record(stores: Stores) -> None:
    assert await stores.updates.refresh(KEY) is None
    assert await stores.directory.get(KEY) is None


async def test_counts_preview_and_customer_are_folded_once(stores: Stores) -> None:
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "hello", 10.0))
    first = await stores.updates.refresh(KEY, Noted(customer_id="cust_1"), now=11.0)
    await stores.transcripts.append(KEY, said(Author.BOT, "hi! " * 100, 12.0))
    # a missed refresh (a crash after the commit) is caught up by the next one
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "refund?", 13.0))
    second = await stores.updates.refresh(KEY, now=14.0)
    again = await stores.updates.refresh(KEY, now=99.0)
    assert first is not None and first.counts == {"customer": 1} and first.created_at == 10.0
    assert second is not None and second.counts == {"customer": 2, "bot": 1}
    assert second.customer_id == "cust_1" and second.entries == 3
    assert second.last_message == {"author": "customer", "text": "refund?", "at": 13.0}
    assert second.status is Status.AUTO and second.updated_at == 14.0
    assert again == second  # nothing new: not rewritten, not re-dated
    assert await stores.directory.get(KEY) == second


async def test_escalated_then_taken_over_then_handed_back(stores: Stores) -> None:
    escalation = {"reason": "frustration", "priority": "high", "summary": "s"}
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "useless bot", 1.0))
    await stores.transcripts.append(KEY, said(Author.BOT, "a person", 2.0, escalation=escalation))
    await stores.transcripts.save_state(ConversationState(KEY, Mode.MANUAL, "frustration"))
    escalated = await stores.updates.refresh(KEY)
    await stores.transcripts.save_state(
        ConversationState(KEY, Mode.MANUAL, "operator: taken over by ana")
    )
    manual = await stores.updates.refresh(KEY)
    await stores.transcripts.save_state(ConversationState(KEY, Mode.AUTO, None))
    auto = await stores.updates.refresh(KEY)
    assert escalated is not None and escalated.status is Status.ESCALATED
    assert escalated.escalation_reason == "frustration"
    assert manual is not None and manual.status is Status.MANUAL
    assert auto is not None and auto.status is Status.AUTO and auto.mode is Mode.AUTO
    assert auto.escalation_reason == "frustration"  # kept, for filtering by reason


async def test_awaiting_approval_while_the_approval_is_pending(stores: Stores) -> None:
    record = ApprovalRecord("apr_1", KEY, "request_refund", {"amount": 89}, "big", "cp", "c1")
    claim = await stores.mailboxes.claim_key(KEY, 30, 10)
    assert claim is not None
    await stores.mailboxes.commit(claim, TurnCommit(0, approvals=(record,)))
    approval = {"id": "apr_1", "tool": "request_refund"}
    await stores.transcripts.append(KEY, said(Author.BOT, "wait", 1.0, approval=approval))
    waiting = await stores.updates.refresh(KEY)
    await decide(stores.mailboxes, "apr_1", True, "ana", None)
    done = await stores.updates.refresh(KEY)
    assert waiting is not None and waiting.status is Status.AWAITING_APPROVAL
    assert done is not None and done.status is Status.AUTO


async def test_resolved_until_the_customer_writes_again(stores: Stores) -> None:
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "thanks", 1.0))
    resolved = await stores.updates.refresh(KEY, Noted(resolved_at=2.0))
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "one more thing", 3.0))
    reopened = await stores.updates.refresh(KEY)
    assert resolved is not None and resolved.status is Status.RESOLVED
    assert reopened is not None and reopened.status is Status.AUTO


async def test_a_draft_waits_until_sent_answered_or_discarded(stores: Stores) -> None:
    stores.drafts.add("demo")
    await stores.transcripts.append(KEY, said(Author.CUSTOMER, "refund?", 1.0))
    await stores.transcripts.append(KEY, said(Author.BOT, "5 days", 2.0))
    drafted = await stores.updates.refresh(KEY)
    assert drafted is not None and drafted.draft == {"message_id": "bot-2.0", "text": "5 days"}
    unrelated = await stores.updates.refresh(KEY, Noted(draft_handled="bot-other"))
    assert unrelated is not None and unrelated.draft is not None
    discarded = await stores.updates.refresh(KEY, Noted(draft_handled="bot-2.0"))
    assert discarded is not None and discarded.draft is None
    await stores.transcripts.append(KEY, said(Author.BOT, "holding", 3.0, holding=True))
    assert (await stores.updates.refresh(KEY)).draft is None  # type: ignore[union-attr]
    await stores.transcripts.append(KEY, said(Author.BOT, "7 days", 4.0))
    await stores.transcripts.append(KEY, said(Author.OPERATOR, "a week", 5.0))
    answered = await stores.updates.refresh(KEY)
    assert answered is not None and answered.draft is None
    assert answered.counts == {"customer": 1, "bot": 3, "operator": 1}
