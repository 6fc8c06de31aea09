"""The loop guard in a real turn (SQLite runtime): the bot does not answer the message that
trips it, hands the conversation to a person once, and stays silent after."""

import time
from pathlib import Path
from typing import Any

from agent.metrics import TURNS
from agent.runtime.models import Author, InboundMessage, Mode
from tests.unit.runtime.conftest import Runtime
from tests.unit.runtime.test_turns_and_worker import KEY, RecordingDelivery, processor, turn
from tools.context import Customer

REFUND = "How long does a refund take?"


def mail(message_id: str, text: str = REFUND, email: bool = True) -> InboundMessage:
    data: dict[str, Any] = {"email": True} if email else {}
    return InboundMessage(
        "demo", "generic", "c-1", message_id, text, Customer("cust_1001"), time.time(), data=data
    )


def stopped_turns() -> float:
    labels = {"tenant": "demo", "channel": "generic", "outcome": "loop_stopped"}
    return float(TURNS.labels(**labels)._value.get())


async def test_an_auto_responder_answering_at_once_is_handed_to_a_person(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    before = stopped_turns()
    for index in range(1, 4):  # the first message, then two instant answers to the bot
        await turn(turns, runtime, mail(f"m-{index}"))
    assert [item.kind for item in delivery.sent] == ["reply"] * 3
    await turn(turns, runtime, mail("m-4"))  # the third instant answer trips it
    assert [item.kind for item in delivery.sent] == ["reply"] * 3 + ["handoff"]
    handoff = delivery.sent[-1]
    assert handoff.key == "m-4:handoff" and handoff.payload["reason"] == "reply_loop"
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL
    assert state.escalation_reason == "reply_loop"
    entries = await runtime.transcripts.entries(KEY)
    assert entries[-1].author is Author.CUSTOMER and entries[-1].message_id == "m-4"
    assert await runtime.mailboxes.depth() == 0
    assert stopped_turns() == before + 1
    await turn(turns, runtime, mail("m-5"))  # manual now: recorded, not answered
    assert len(delivery.sent) == 4


async def test_quick_chat_messages_are_not_an_auto_responder(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    for index in range(1, 6):
        await turn(turns, runtime, mail(f"m-{index}", email=False))
    assert [item.kind for item in delivery.sent] == ["reply"] * 5
    assert await runtime.transcripts.state(KEY) is None


async def test_too_many_bot_turns_without_a_customer_message_stop_the_bot(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery, channels__loop_guard={"max_bot_turns": 1})
    await runtime.mailboxes.append(mail("m-1"), delay_s=0)
    claim = await runtime.mailboxes.claim_key(KEY, 30, limit=1)
    assert claim is not None
    await turns.hold(claim)  # the holding reply is the one bot turn allowed
    await runtime.mailboxes.release(claim)
    await turn(turns, runtime)
    assert [item.key for item in delivery.sent] == ["m-1.holding", "m-1:handoff"]
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL
    authors = [entry.author for entry in await runtime.transcripts.entries(KEY)]
    assert authors == [Author.CUSTOMER, Author.BOT]
