"""State sync from a helpdesk: a person takes the conversation (the bot goes silent), or gives
it back (the bot answers again); in draft mode an agent's words are recorded only."""

from pathlib import Path

from agent.runtime.models import MODE_CHANGE, Author, InboundMessage, Mode
from tests.unit.runtime.conftest import Runtime
from tests.unit.runtime.test_turns_and_worker import (
    KEY,
    RecordingDelivery,
    message,
    processor,
    turn,
)
from tools.context import Customer


def change(mode: str, message_id: str, text: str = "", reason: str = "") -> InboundMessage:
    data = {"mode": mode, "reason": reason or f"switched to {mode}", "cause": "status"}
    return InboundMessage(
        "demo", "generic", "c-1", message_id, text, Customer(""), kind=MODE_CHANGE, data=data
    )


async def test_an_agents_reply_silences_the_bot_and_is_kept_as_the_operators_words(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await turn(turns, runtime, change("manual", "h-1", "Hi, Dana here, I'll check."))
    await turn(turns, runtime, message("How long does a refund take?", "m-2"))
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL
    assert state.escalation_reason == "helpdesk: switched to manual"
    entries = await runtime.transcripts.entries(KEY)
    assert [(e.author, e.text) for e in entries] == [
        (Author.OPERATOR, "Hi, Dana here, I'll check."),
        (Author.CUSTOMER, "How long does a refund take?"),
    ]
    assert delivery.sent == []


async def test_given_back_to_the_bot_it_answers_again(tmp_path: Path, runtime: Runtime) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await turn(turns, runtime, change("manual", "h-1"))
    await turn(turns, runtime, change("auto", "h-2"))
    await turn(turns, runtime, message("How long does a refund take?", "m-3"))
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.AUTO and state.escalation_reason is None
    assert [item.kind for item in delivery.sent] == ["reply"]
    assert "5–7 business days" in delivery.sent[0].payload["text"]


async def test_the_last_of_several_changes_wins_and_all_are_consumed(
    tmp_path: Path, runtime: Runtime
) -> None:
    turns = processor(tmp_path, runtime, RecordingDelivery())
    claim_messages = (change("manual", "h-1"), change("auto", "h-2"), change("manual", "h-3"))
    await turn(turns, runtime, *claim_messages)
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL
    assert await runtime.mailboxes.depth() == 0


async def test_in_draft_mode_an_agents_words_do_not_silence_the_bot(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await turn(turns, runtime, change("", "h-1", "Sent the bot's draft."))
    await turn(turns, runtime, message("How long does a refund take?", "m-2"))
    assert (await runtime.transcripts.state(KEY)) is None  # never switched
    assert [item.kind for item in delivery.sent] == ["reply"]
    entries = await runtime.transcripts.entries(KEY)
    assert entries[0].author is Author.OPERATOR and entries[0].meta["source"] == "helpdesk"
