"""Which transcript entries become which chat messages, and which conversations are left out."""

from dataclasses import replace
from pathlib import Path

import pytest

from agent import training_export
from agent.runtime.directory import ConversationSummary, Status
from agent.runtime.models import Author, TranscriptEntry
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_directory import SqliteDirectory
from agent.safety import redact
from agent.training_export import (
    ExportRequest,
    conversation_hash,
    conversation_record,
    export_conversations,
)

KEY = "demo:generic:c-1"
SINCE = 1_000.0


def summary(status: Status = Status.AUTO, reason: str | None = None) -> ConversationSummary:
    return ConversationSummary(
        KEY, "demo", "generic", "c-1", status=status, escalation_reason=reason
    )


def customer(text: str, at: float, message_id: str = "") -> TranscriptEntry:
    return TranscriptEntry(Author.CUSTOMER, text, message_id or f"m-{at}", at)


def bot(text: str, at: float, **meta: object) -> TranscriptEntry:
    return TranscriptEntry(Author.BOT, text, f"m-{at}.reply", at, meta=dict(meta))


def operator(text: str, at: float, **meta: object) -> TranscriptEntry:
    return TranscriptEntry(Author.OPERATOR, text, f"op-{at}", at, meta=dict(meta))


def request(**overrides: object) -> ExportRequest:
    values: dict[str, object] = {"tenant": "demo", "since": SINCE, "system_prompt": "Be kind."}
    values.update(overrides)
    return ExportRequest(**values)  # type: ignore[arg-type]


def test_a_burst_is_one_user_message_and_traces_stay_out() -> None:
    entries = [
        customer("hi", 1001),
        customer("my order", 1002),
        bot("Which order?", 1003, trace=[{"node": "agent", "tool": "track_shipment"}]),
        customer("BL-10234", 1004),
        bot("It is shipped.", 1005),
    ]
    done = conversation_record(summary(), entries, request())
    assert done.record is not None
    assert done.record["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hi\nmy order"},
        {"role": "assistant", "content": "Which order?"},
        {"role": "user", "content": "BL-10234"},
        {"role": "assistant", "content": "It is shipped."},
    ]
    metadata = done.record["metadata"]
    assert metadata["turns"] == 2 and metadata["escalated"] is False
    assert metadata["conversation"] == conversation_hash(KEY) != KEY
    assert metadata["started_at"] == "1970-01-01T00:16:41+00:00"  # 1001 s
    assert metadata["last_activity_at"] == "1970-01-01T00:16:45+00:00"  # 1005 s
    assert "track_shipment" not in str(done.record)


def test_escalated_and_operator_turns_are_marked() -> None:
    entries = [
        customer("I want a person", 1001),
        bot("A colleague will take over.", 1002, escalation={"reason": "customer_request"}),
        operator("Hi, Ana here.", 1003, source="admin"),
        customer("thanks", 1004),
        operator("You're welcome.", 1005, source="helpdesk"),
    ]
    done = conversation_record(summary(Status.MANUAL), entries, request(system_prompt=None))
    assert done.record is not None
    assert [m["role"] for m in done.record["messages"]] == [
        "user", "assistant", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert done.record["metadata"]["operator_messages"] == [2, 4]
    assert done.record["metadata"]["escalated"] is True
    assert done.record["metadata"]["escalation_reason"] == "customer_request"


def test_redaction_applies_to_every_message() -> None:
    entries = [
        customer("mail me at ana.p@example.org or call +44 20 7946 0958", 1001),
        bot("We will write to ana.p@example.org.", 1002),
    ]
    done = conversation_record(summary(), entries, request(redact=redact))
    assert done.record is not None
    user, assistant = done.record["messages"][1:]
    assert user["content"] == "mail me at [email] or call [phone]"
    assert assistant["content"] == "We will write to [email]."
    assert done.record["metadata"]["redacted"] is True


def test_a_conversation_waiting_for_a_reply_is_skipped() -> None:
    entries = [customer("hello", 1001), bot("Hi!", 1002), customer("are you there?", 1003)]
    assert conversation_record(summary(), entries, request()).skipped == "waiting"


def test_a_holding_message_is_not_an_answer() -> None:
    entries = [customer("hello", 1001), bot("Busy, back soon.", 1030, holding=True)]
    assert conversation_record(summary(), entries, request()).skipped == "waiting"
    answered = [*entries, bot("Hello! How can I help?", 1040)]
    done = conversation_record(summary(), answered, request())
    assert done.record is not None
    assert [m["content"] for m in done.record["messages"][1:]] == [
        "hello",
        "Hello! How can I help?",
    ]


def test_an_action_waiting_for_approval_is_skipped() -> None:
    entries = [customer("refund please", 1001), bot("A colleague needs to confirm.", 1002)]
    done = conversation_record(summary(Status.AWAITING_APPROVAL), entries, request())
    assert done.skipped == "waiting"


def test_the_window_is_since_inclusive_until_exclusive_on_the_last_activity() -> None:
    entries = [customer("hello", 900), bot("Hi!", 1000)]  # last activity: 1000
    assert conversation_record(summary(), entries, request(since=1000)).record is not None
    assert conversation_record(summary(), entries, request(since=1000.5)).skipped == (
        "outside the window"
    )
    assert conversation_record(summary(), entries, request(since=0, until=1000)).skipped == (
        "outside the window"
    )
    assert conversation_record(summary(), entries, request(since=0, until=1000.5)).record


def test_drafts_only_what_a_person_sent_is_exported() -> None:
    entries = [
        customer("where is my parcel?", 1001),
        bot("It is lost.", 1002),  # a draft, sent edited by a person
        operator("It is on its way, sorry for the wait.", 1003, draft_of="m-1002.reply"),
        customer("and the invoice?", 1004),
        bot("Attached.", 1005),  # a draft nobody sent
        operator("I have e-mailed it to you.", 1006),
    ]
    seen = conversation_record(summary(), entries, request(system_prompt=None))
    assert seen.record is not None  # an autonomous tenant: the unsent draft was not a draft
    contents = [m["content"] for m in seen.record["messages"]]
    assert "It is lost." not in contents  # superseded by the sent version
    drafts = conversation_record(
        summary(), entries, request(system_prompt=None, bot_replies_seen=False)
    )
    assert drafts.record is not None
    assert drafts.record["messages"] == [
        {"role": "user", "content": "where is my parcel?"},
        {"role": "assistant", "content": "It is on its way, sorry for the wait."},
        {"role": "user", "content": "and the invoice?"},
        {"role": "assistant", "content": "I have e-mailed it to you."},
    ]
    assert drafts.record["metadata"]["operator_messages"] == [1, 3]


def test_no_customer_message_no_record() -> None:
    done = conversation_record(summary(), [operator("Hello from support", 1001)], request())
    assert done.skipped == "no customer message"
    assert conversation_record(summary(), [], request()).skipped == "no answer"


async def test_every_page_of_the_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    try:
        directory = await SqliteDirectory.open(database)
        transcripts = SqliteTranscripts(database)
        for number in range(5):
            key = f"demo:generic:c-{number}"
            await transcripts.append(key, customer("hello", 1001 + number))
            await transcripts.append(key, bot("Hi!", 1002 + number))
            await directory.put(
                replace(ConversationSummary.empty(key, 1001), updated_at=1002 + number)
            )
        other = "acme:generic:c-9"  # another tenant's conversation is not exported
        await transcripts.append(other, customer("hello", 1001))
        await transcripts.append(other, bot("Hi!", 1002))
        await directory.put(replace(ConversationSummary.empty(other, 1001), updated_at=1002))
        monkeypatch.setattr(training_export, "PAGE_SIZE", 2)
        done = [d async for d in export_conversations(directory, transcripts, request())]
    finally:
        await database.close()
    assert sorted(d.key for d in done if d.record) == [f"demo:generic:c-{n}" for n in range(5)]
