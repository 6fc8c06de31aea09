"""The contract of Intake (the webhook path's one write), on every runtime backend."""

import asyncio
from typing import Any

import aiosqlite
import pytest

from agent.runtime import sqlite_mailboxes
from agent.runtime.models import Author, InboundMessage, Mode
from agent.runtime.stores import AcceptResult, RuntimeStoreError
from tests.contracts.conftest import Conversations
from tools.context import Customer

KEY = "demo:generic:c-1"
LEASE = 5.0
TTL = 600


def msg(
    message_id: str, conversation: str = "c-1", customer: str = "cust_1", kind: str = "customer"
) -> InboundMessage:
    text = "" if kind == "mode" else f"text {message_id}"
    data = {"mode": Mode.MANUAL.value} if kind == "mode" else {}
    return InboundMessage(
        "demo", "generic", conversation, message_id, text, Customer(customer), kind=kind, data=data
    )


async def waiting(conversations: Conversations, key: str = KEY) -> list[str]:
    """The message ids waiting in a conversation's mailbox, oldest first."""
    claim = await conversations.mailboxes.claim_key(key, LEASE, limit=1000)
    assert claim is not None
    await conversations.mailboxes.release(claim, delay_s=60)
    return [m.message_id for m in claim.messages]


async def test_a_delivery_is_queued_with_its_transcript_and_customer(
    conversations: Conversations,
) -> None:
    result = await conversations.intake.accept("demo:generic:d-1", TTL, [msg("m-1")], 0)
    assert result == AcceptResult(duplicate=False, fresh=(True,)) and result.queued
    claim = await conversations.mailboxes.claim(LEASE, limit=10)
    assert claim is not None and claim.conversation_key == KEY
    assert [m.message_id for m in claim.messages] == ["m-1"]
    assert claim.messages[0].text == "text m-1" and claim.messages[0].customer.id == "cust_1"
    entries = await conversations.transcripts.entries(KEY)
    assert [(e.author, e.message_id) for e in entries] == [(Author.CUSTOMER, "m-1")]
    assert await conversations.mailboxes.customer_conversations("demo", "cust_1") == [KEY]
    assert await conversations.mailboxes.depth() == 1


async def test_a_repeated_delivery_id_writes_nothing(conversations: Conversations) -> None:
    intake = conversations.intake
    await intake.accept("demo:generic:d-1", TTL, [msg("m-1")], 0)
    again = await intake.accept("demo:generic:d-1", TTL, [msg("m-1"), msg("m-2")], 0)
    assert again == AcceptResult(duplicate=True) and not again.queued
    assert await waiting(conversations) == ["m-1"]
    assert len(await conversations.transcripts.entries(KEY)) == 1


async def test_a_new_delivery_id_for_known_messages_queues_only_the_new_ones(
    conversations: Conversations,
) -> None:
    intake = conversations.intake
    await intake.accept("demo:generic:d-1", TTL, [msg("m-1")], 0)
    same = await intake.accept("demo:generic:d-2", TTL, [msg("m-1")], 0)
    assert same == AcceptResult(duplicate=False, fresh=(False,)) and not same.queued
    more = await intake.accept("demo:generic:d-3", TTL, [msg("m-1"), msg("m-2")], 0)
    assert more.fresh == (False, True) and more.queued
    assert await waiting(conversations) == ["m-1", "m-2"]


async def test_a_delivery_of_several_conversations_and_a_mode_change(
    conversations: Conversations,
) -> None:
    messages = [
        msg("m-1", conversation="a"),
        msg("m-2", conversation="b", customer=""),
        msg("m-3", conversation="a", kind="mode"),
    ]
    result = await conversations.intake.accept("demo:generic:d-1", TTL, messages, 0)
    assert result.fresh == (True, True, True)
    assert await waiting(conversations, "demo:generic:a") == ["m-1", "m-3"]
    assert await waiting(conversations, "demo:generic:b") == ["m-2"]
    transcript_a = await conversations.transcripts.entries("demo:generic:a")
    assert [e.message_id for e in transcript_a] == ["m-1"]  # a silent mode change: no entry
    assert await conversations.mailboxes.customer_conversations("demo", "cust_1") == [
        "demo:generic:a"
    ]
    assert await conversations.mailboxes.customer_conversations("demo", "") == []


async def test_concurrent_deliveries_are_each_accepted_once(
    conversations: Conversations,
) -> None:
    """Many at once (batched on Redis): each delivery is queued once, nothing is lost."""
    intake = conversations.intake
    calls = [
        intake.accept(f"demo:generic:d-{n}", TTL, [msg(f"m-{n}", f"c-{n % 7}")], 0)
        for n in (i % 50 for i in range(200))
    ]
    results = await asyncio.gather(*calls)
    assert sum(1 for r in results if r.queued) == 50  # one answer per delivery says queued
    queued = []
    for conversation in range(7):
        queued += await waiting(conversations, f"demo:generic:c-{conversation}")
    assert sorted(queued) == sorted(f"m-{i}" for i in range(50))


async def test_the_window_delays_the_turn(conversations: Conversations) -> None:
    await conversations.intake.accept("demo:generic:d-1", TTL, [msg("m-1")], delay_s=0.4)
    assert await conversations.mailboxes.claim(LEASE, limit=10) is None
    await asyncio.sleep(0.5)
    assert await conversations.mailboxes.claim(LEASE, limit=10) is not None


async def test_a_claim_expires_with_its_ttl(conversations: Conversations) -> None:
    intake = conversations.intake
    await intake.accept("demo:generic:d-1", 1, [msg("m-1")], 0)
    await asyncio.sleep(1.2)
    result = await intake.accept("demo:generic:d-1", 1, [msg("m-2")], 0)
    assert not result.duplicate and result.fresh == (True,)


async def test_a_delivery_that_fails_half_way_leaves_no_claim(
    conversations: Conversations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store fails on the second message: 503, and the sender's retry is accepted."""
    await _fail_on_second_conversation(conversations, monkeypatch, "c-bad")
    intake = conversations.intake
    delivery = [msg("m-1"), msg("m-2", conversation="c-bad")]
    others = [intake.accept(f"demo:generic:ok-{i}", TTL, [msg(f"x-{i}")], 0) for i in range(5)]
    outcomes = await asyncio.gather(
        intake.accept("demo:generic:d-1", TTL, delivery, 0), *others, return_exceptions=True
    )
    assert isinstance(outcomes[0], RuntimeStoreError)
    assert all(isinstance(o, AcceptResult) and o.queued for o in outcomes[1:])  # unaffected
    await _heal(conversations, monkeypatch, "c-bad")
    retried = await intake.accept("demo:generic:d-1", TTL, delivery, 0)
    assert not retried.duplicate and retried.fresh[1] is True
    assert sorted(await waiting(conversations)) == ["m-1", *(f"x-{i}" for i in range(5))]
    assert await waiting(conversations, "demo:generic:c-bad") == ["m-2"]


async def _fail_on_second_conversation(
    conversations: Conversations, monkeypatch: pytest.MonkeyPatch, conversation: str
) -> None:
    if conversations.redis is not None and conversations.keys is not None:
        seen = conversations.keys.conversation(f"demo:generic:{conversation}", "seen")
        await conversations.redis.set(seen, "not a set")  # WRONGTYPE inside the script
        return
    touch = sqlite_mailboxes._touch

    async def failing(db: Any, key: str) -> None:
        if key.endswith(f":{conversation}"):
            raise aiosqlite.OperationalError("disk I/O error")
        await touch(db, key)

    monkeypatch.setattr(sqlite_mailboxes, "_touch", failing)


async def _heal(
    conversations: Conversations, monkeypatch: pytest.MonkeyPatch, conversation: str
) -> None:
    if conversations.redis is not None and conversations.keys is not None:
        await conversations.redis.delete(
            conversations.keys.conversation(f"demo:generic:{conversation}", "seen")
        )
        return
    monkeypatch.undo()
