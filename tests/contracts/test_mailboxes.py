"""The contract of Mailboxes and UsageMeter, run against the embedded and the Redis backend."""

import asyncio
import time
from dataclasses import replace

import pytest

from agent.runtime.models import (
    ApprovalRecord,
    ApprovalStatus,
    Author,
    ConversationState,
    InboundMessage,
    Mode,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
    approval_id,
)
from agent.runtime.stores import ApprovalNotPending, StaleClaim
from tests.contracts.conftest import Conversations
from tools.context import Customer

KEY = "demo:generic:c-1"
LEASE = 5.0


def msg(message_id: str, conversation: str = "c-1", customer: str = "cust_1") -> InboundMessage:
    return InboundMessage(
        "demo", "generic", conversation, message_id, f"text {message_id}", Customer(customer)
    )


def reply(message_id: str) -> TranscriptEntry:
    return TranscriptEntry(Author.BOT, f"reply to {message_id}", f"{message_id}.reply")


async def test_a_message_is_claimed_with_its_conversation(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    assert await boxes.append(msg("m-1"), delay_s=0) is True
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None and claim.conversation_key == KEY
    assert [m.message_id for m in claim.messages] == ["m-1"]
    assert claim.messages[0].text == "text m-1" and claim.attempts == 1


async def test_accepted_messages_are_in_the_transcript_at_once(
    conversations: Conversations,
) -> None:
    await conversations.mailboxes.append(msg("m-1"), delay_s=30)
    entries = await conversations.transcripts.entries(KEY)
    assert [(e.author, e.message_id) for e in entries] == [(Author.CUSTOMER, "m-1")]


async def test_a_repeated_message_id_is_accepted_once(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    assert await boxes.append(msg("m-1"), delay_s=0) is True
    assert await boxes.append(msg("m-1"), delay_s=0) is False
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None and len(claim.messages) == 1
    assert len(await conversations.transcripts.entries(KEY)) == 1


async def test_a_burst_is_coalesced_after_the_window(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0.4)
    await asyncio.sleep(0.2)
    await boxes.append(msg("m-2"), delay_s=0.4)  # pushes the turn back
    await boxes.append(msg("m-3"), delay_s=0.4)
    await asyncio.sleep(0.3)
    assert await boxes.claim(LEASE, limit=10) is None  # 0.5 s after m-1, 0.3 s after m-3
    await asyncio.sleep(0.25)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    assert [m.message_id for m in claim.messages] == ["m-1", "m-2", "m-3"]


async def test_claim_takes_at_most_limit_messages_oldest_first(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    for i in range(5):
        await boxes.append(msg(f"m-{i}"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=2)
    assert claim is not None and [m.message_id for m in claim.messages] == ["m-0", "m-1"]


async def test_a_held_conversation_is_not_claimed_twice(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    assert await boxes.claim(LEASE, limit=10) is not None
    await boxes.append(msg("m-2"), delay_s=0)
    assert await boxes.claim(LEASE, limit=10) is None
    assert await boxes.claim_key(KEY, LEASE, limit=10) is None


async def test_different_conversations_are_claimed_in_parallel(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1", conversation="a"), delay_s=0)
    await boxes.append(msg("m-1", conversation="b"), delay_s=0)
    first = await boxes.claim(LEASE, limit=10)
    second = await boxes.claim(LEASE, limit=10)
    assert first is not None and second is not None
    assert {first.conversation_key, second.conversation_key} == {
        "demo:generic:a",
        "demo:generic:b",
    }


async def test_an_expired_lease_passes_to_the_next_worker_and_fences_the_old_one(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    stale = await boxes.claim(0.3, limit=10)
    assert stale is not None
    await asyncio.sleep(0.4)  # the first worker died or stalled
    fresh = await boxes.claim(LEASE, limit=10)
    assert fresh is not None and fresh.fence > stale.fence and fresh.attempts == 2
    with pytest.raises(StaleClaim):
        await boxes.renew(stale, LEASE)
    with pytest.raises(StaleClaim):
        await boxes.commit(stale, TurnCommit(1, (reply("m-1"),)))
    await boxes.release(stale)  # a no-op: it must not free the new holder's lease
    assert await boxes.claim_key(KEY, LEASE, limit=10) is None
    await boxes.commit(fresh, TurnCommit(1, (reply("m-1"),)))
    bots = [e for e in await conversations.transcripts.entries(KEY) if e.author is Author.BOT]
    assert len(bots) == 1


async def test_a_dead_holders_conversation_keeps_its_place_in_line(
    conversations: Conversations,
) -> None:
    """Taken over, it is claimed before conversations whose messages came after its own
    (otherwise a conversation killed again and again would wait behind the whole queue)."""
    boxes = conversations.mailboxes
    await boxes.heartbeat("worker-a", 30)
    await boxes.append(msg("m-1"), delay_s=0)
    dead = await boxes.claim(LEASE, limit=10, holder="worker-a")
    assert dead is not None
    await asyncio.sleep(0.05)
    await boxes.append(msg("m-2", conversation="c-2"), delay_s=0)
    await boxes.heartbeat("worker-a", 0)  # its supervisor saw it die
    first = await boxes.claim(LEASE, limit=10, holder="worker-b")
    second = await boxes.claim(LEASE, limit=10, holder="worker-b")
    assert first is not None and first.conversation_key == KEY and first.crashes == 1
    assert second is not None and second.conversation_key == "demo:generic:c-2"


async def test_a_dead_holders_conversation_is_taken_over_before_its_lease_ends(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    await boxes.heartbeat("worker-a", 0.3)
    await boxes.heartbeat("worker-b", 30)
    dead = await boxes.claim(LEASE, limit=10, holder="worker-a")
    assert dead is not None and dead.holder == "worker-a"
    await boxes.renew(dead, LEASE)  # the lease itself lasts long after the heartbeat
    assert await boxes.claim(LEASE, limit=10, holder="worker-b") is None  # worker-a beats
    await asyncio.sleep(0.4)  # worker-a was killed: no more heartbeats
    await boxes.heartbeat("worker-b", 30)  # the survivor's beat makes it ready again
    fresh = await boxes.claim(LEASE, limit=10, holder="worker-b")
    assert fresh is not None and fresh.fence > dead.fence
    assert (fresh.attempts, fresh.crashes) == (1, 1)  # a crash, not a failed attempt
    with pytest.raises(StaleClaim):
        await boxes.renew(dead, LEASE)
    with pytest.raises(StaleClaim):
        await boxes.commit(dead, TurnCommit(1, (reply("m-1"),)))
    await boxes.release(dead)  # a no-op: it must not free the new holder's lease
    assert await boxes.claim_key(KEY, LEASE, limit=10, holder="worker-a") is None
    await boxes.commit(fresh, TurnCommit(1, (reply("m-1"),)))
    await boxes.append(msg("m-2"), delay_s=0)
    await boxes.release(fresh)
    following = await boxes.claim(LEASE, limit=10, holder="worker-b")
    assert following is not None and (following.attempts, following.crashes) == (1, 0)


async def test_a_holder_that_died_after_its_lease_ended_counts_as_a_crash(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    await boxes.heartbeat("worker-a", 0.2)
    assert await boxes.claim(0.3, limit=10, holder="worker-a") is not None
    await asyncio.sleep(0.4)  # killed; nobody noticed before its lease ran out
    fresh = await boxes.claim(LEASE, limit=10, holder="worker-b")
    assert fresh is not None and (fresh.attempts, fresh.crashes) == (1, 1)
    await boxes.release(fresh)  # let go: the next claim is an attempt
    again = await boxes.claim(LEASE, limit=10, holder="worker-b")
    assert again is not None and (again.attempts, again.crashes) == (2, 1)


async def test_a_living_holder_keeps_its_conversation(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    await boxes.heartbeat("worker-a", 0.5)
    held = await boxes.claim(LEASE, limit=10, holder="worker-a")
    assert held is not None
    for _ in range(3):
        await asyncio.sleep(0.2)
        await boxes.heartbeat("worker-a", 0.5)
        await boxes.heartbeat("worker-b", 0.5)
        assert await boxes.claim_key(KEY, LEASE, limit=10, holder="worker-b") is None
    await boxes.renew(held, LEASE)


async def test_renew_keeps_the_lease(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(0.4, limit=10)
    assert claim is not None
    for _ in range(3):
        await asyncio.sleep(0.2)
        await boxes.renew(claim, 0.4)
    assert await boxes.claim(LEASE, limit=10) is None
    await boxes.commit(claim, TurnCommit(1, (reply("m-1"),)))


async def test_commit_consumes_records_and_release_empties(
    conversations: Conversations,
) -> None:
    boxes, transcripts = conversations.mailboxes, conversations.transcripts
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    state = ConversationState(KEY, Mode.MANUAL, "customer_request", 3.0)
    await boxes.commit(claim, TurnCommit(1, (reply("m-1"),), state=state))
    await boxes.release(claim)
    assert await boxes.claim(LEASE, limit=10) is None
    assert await boxes.depth() == 0
    assert [e.message_id for e in await transcripts.entries(KEY)] == ["m-1", "m-1.reply"]
    assert await transcripts.state(KEY) == state


async def test_messages_arriving_during_a_turn_make_the_next_turn(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    await boxes.append(msg("m-2"), delay_s=0)
    await boxes.append(msg("m-3"), delay_s=0)
    await boxes.commit(claim, TurnCommit(1, (reply("m-1"),)))
    await boxes.release(claim)
    following = await boxes.claim(LEASE, limit=10)
    assert following is not None and following.attempts == 1
    assert [m.message_id for m in following.messages] == ["m-2", "m-3"]
    entries = await conversations.transcripts.entries(KEY)
    assert [e.message_id for e in entries] == ["m-1", "m-2", "m-3", "m-1.reply"]


async def test_a_failed_turn_is_retried_after_the_release_delay(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    await boxes.release(claim, delay_s=0.3)
    assert await boxes.claim(LEASE, limit=10) is None
    await asyncio.sleep(0.35)
    again = await boxes.claim(LEASE, limit=10)
    assert again is not None and again.attempts == 2
    assert [m.message_id for m in again.messages] == ["m-1"]


async def test_outbox_items_wait_until_delivered_and_survive_a_crash(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(0.3, limit=10)
    assert claim is not None
    items = (
        OutboxItem("m-1.reply", "reply", {"text": "hello"}),
        OutboxItem("m-1.reply:handoff", "handoff", {"reason": "customer_request"}),
    )
    await boxes.commit(claim, TurnCommit(1, (reply("m-1"),), items))
    # The worker dies before delivering: the next claim finds the outbox, not the message.
    await asyncio.sleep(0.4)
    recovery = await boxes.claim(LEASE, limit=10)
    assert recovery is not None and recovery.messages == ()
    assert [i.key for i in await boxes.undelivered(KEY)] == ["m-1.reply", "m-1.reply:handoff"]
    await boxes.mark_delivered(KEY, "m-1.reply")
    assert [i.key for i in await boxes.undelivered(KEY)] == ["m-1.reply:handoff"]
    await boxes.mark_delivered(KEY, "m-1.reply:handoff")
    await boxes.release(recovery)
    assert await boxes.claim(LEASE, limit=10) is None


async def test_an_outbox_key_is_written_once(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    item = OutboxItem("m-1.reply", "reply", {"text": "first"})
    await boxes.commit(claim, TurnCommit(0, (), (item,)))
    await boxes.mark_delivered(KEY, "m-1.reply")
    again = OutboxItem("m-1.reply", "reply", {"text": "second"})
    await boxes.commit(claim, TurnCommit(1, (), (again,)))
    assert await boxes.undelivered(KEY) == []


async def test_attempts_count_claims_until_a_commit(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1"), delay_s=0)
    for expected in (1, 2, 3):
        claim = await boxes.claim(LEASE, limit=10)
        assert claim is not None and claim.attempts == expected
        await boxes.release(claim)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    await boxes.commit(claim, TurnCommit(1))
    await boxes.append(msg("m-2"), delay_s=0)
    await boxes.release(claim)
    following = await boxes.claim(LEASE, limit=10)
    assert following is not None and following.attempts == 1


async def test_overdue_lists_long_waits_until_held(conversations: Conversations) -> None:
    boxes = conversations.mailboxes
    old = InboundMessage(
        "demo", "generic", "c-1", "m-1", "hello?", Customer("cust_1"), time.time() - 300
    )
    await boxes.append(old, delay_s=0)
    await boxes.append(msg("m-1", conversation="fresh"), delay_s=0)
    assert await boxes.overdue(120) == [KEY]
    await boxes.mark_held(KEY)
    assert await boxes.overdue(120) == []
    claim = await boxes.claim_key(KEY, LEASE, limit=10)
    assert claim is not None  # still waiting for its real answer
    await boxes.release(claim)
    assert await boxes.overdue(120) == []  # a release does not make it overdue again


async def test_wait_returns_when_a_message_arrives(conversations: Conversations) -> None:
    boxes = conversations.mailboxes

    async def later() -> None:
        await asyncio.sleep(0.2)
        await boxes.append(msg("m-1"), delay_s=0)

    producer = asyncio.create_task(later())
    started = time.monotonic()
    await boxes.wait(5)
    await producer
    assert time.monotonic() - started < 3
    assert await boxes.claim(LEASE, limit=10) is not None


async def test_erase_removes_a_customers_conversations(conversations: Conversations) -> None:
    boxes, transcripts = conversations.mailboxes, conversations.transcripts
    await boxes.append(msg("m-1", conversation="a", customer="cust_9"), delay_s=0)
    await boxes.append(msg("m-1", conversation="b", customer="cust_9"), delay_s=0)
    await boxes.append(msg("m-1", conversation="c", customer="cust_other"), delay_s=0)
    found = await boxes.customer_conversations("demo", "cust_9")
    assert found == ["demo:generic:a", "demo:generic:b"]
    for key in found:
        await boxes.erase(key)
    await boxes.forget_customer("demo", "cust_9")
    assert await boxes.customer_conversations("demo", "cust_9") == []
    assert await transcripts.entries("demo:generic:a") == []
    assert len(await transcripts.entries("demo:generic:c")) == 1
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None and claim.conversation_key == "demo:generic:c"
    assert await boxes.claim(LEASE, limit=10) is None


class TestUsage:
    async def test_turns_per_minute(self, usage) -> None:
        assert await usage.start_turn("demo", 2) == 0
        assert await usage.start_turn("demo", 2) == 0
        wait_s = await usage.start_turn("demo", 2)
        assert 0 < wait_s <= 60
        assert await usage.start_turn("other", 2) == 0
        assert await usage.start_turn("demo", None) == 0

    async def test_tokens_add_up_per_tenant(self, usage) -> None:
        await usage.add_tokens("demo", 100)
        await usage.add_tokens("demo", 50)
        assert await usage.tokens_today("demo") == 150
        assert await usage.tokens_today("other") == 0


def _approval(approval: str = "") -> "ApprovalRecord":
    return ApprovalRecord(
        id=approval or approval_id(KEY, "refund-key"),
        conversation_key=KEY,
        tool="request_refund",
        arguments={"order_id": "BL-10234", "amount_eur": 120},
        reason="amount_eur 120 is above the approval limit 50",
        checkpoint_id="cp-1",
        customer_id="cust_1",
    )


async def _commit_approval(boxes, record: "ApprovalRecord") -> None:
    await boxes.append(msg("m-1"), delay_s=0)
    claim = await boxes.claim(LEASE, limit=10)
    assert claim is not None
    await boxes.commit(claim, TurnCommit(1, (reply("m-1"),), approvals=(record,)))
    await boxes.release(claim)


class TestApprovals:
    async def test_a_committed_approval_is_pending_and_found_by_id(
        self, conversations: Conversations
    ) -> None:
        boxes = conversations.mailboxes
        record = _approval()
        await _commit_approval(boxes, record)
        assert await boxes.approval(record.id) == record
        assert await boxes.pending_approvals() == [record]
        assert await boxes.approval("apr_000000000000_bm9wZTpub3BlOm5vcGU") is None
        assert await boxes.approval("not-an-id") is None

    async def test_a_decision_is_recorded_once_and_queued_for_the_worker(
        self, conversations: Conversations
    ) -> None:
        boxes = conversations.mailboxes
        record = _approval()
        await _commit_approval(boxes, record)
        decided = replace(record, status=ApprovalStatus.APPROVED, decided_by="ana")
        decision = replace(msg(f"{record.id}:decision"), kind="approval", data={"x": 1})
        assert await boxes.decide(decided, decision) == decided
        assert await boxes.pending_approvals() == []
        with pytest.raises(ApprovalNotPending) as refused:
            denied = replace(record, status=ApprovalStatus.DENIED, decided_by="bo")
            await boxes.decide(denied, decision)
        assert refused.value.record.decided_by == "ana"
        claim = await boxes.claim(LEASE, limit=10)
        assert claim is not None
        assert [(m.message_id, m.kind, m.data) for m in claim.messages] == [
            (f"{record.id}:decision", "approval", {"x": 1})
        ]
        customer_entries = await conversations.transcripts.entries(KEY)
        assert [e.message_id for e in customer_entries] == ["m-1", "m-1.reply"]  # not recorded

    async def test_erase_removes_approvals(self, conversations: Conversations) -> None:
        boxes = conversations.mailboxes
        record = _approval()
        await _commit_approval(boxes, record)
        await boxes.erase(KEY)
        assert await boxes.approval(record.id) is None
        assert await boxes.pending_approvals() == []


async def test_messages_that_came_during_a_turn_keep_their_place_in_line(
    conversations: Conversations,
) -> None:
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1", conversation="a"), delay_s=0)
    turn = await boxes.claim(LEASE, limit=10)
    assert turn is not None and turn.conversation_key == "demo:generic:a"
    await boxes.append(msg("m-2", conversation="a"), delay_s=0)  # while a's turn runs
    await asyncio.sleep(0.05)
    await boxes.append(msg("m-1", conversation="b"), delay_s=0)  # a newer conversation
    await asyncio.sleep(0.05)
    await boxes.commit(turn, TurnCommit(1, (reply("m-1"),)))
    await boxes.release(turn)
    following = await boxes.claim(LEASE, limit=10)
    assert following is not None and following.conversation_key == "demo:generic:a"


@pytest.mark.parametrize("path", ["append", "intake"])
async def test_a_message_to_a_conversation_waiting_in_line_keeps_its_place(
    conversations: Conversations, path: str
) -> None:
    """A customer who writes again ("hello?") while waiting for a worker is not sent to
    the back of the line: the coalescing window applies before a conversation is due."""
    boxes = conversations.mailboxes
    await boxes.append(msg("m-1", conversation="a"), delay_s=0)
    await asyncio.sleep(0.05)
    await boxes.append(msg("m-1", conversation="b"), delay_s=0)  # in line after a
    await asyncio.sleep(0.05)
    again = msg("m-2", conversation="a")
    if path == "append":
        await boxes.append(again, delay_s=1.0)
    else:
        await conversations.intake.accept("demo:generic:again", 60, [again], 1.0)
    first = await boxes.claim(LEASE, limit=10)
    assert first is not None and first.conversation_key == "demo:generic:a"
    assert [m.message_id for m in first.messages] == ["m-1", "m-2"]


async def test_a_conversation_is_read_at_one_moment_while_turns_commit(
    conversations: Conversations,
) -> None:
    """``TranscriptStore.read`` shows each committed turn's reply together with the state
    that turn set, never one without the other, however the reads and commits interleave."""
    boxes, transcripts = conversations.mailboxes, conversations.transcripts
    turns = 25
    seen: list[tuple[str | None, int]] = []
    done = asyncio.Event()

    async def commit_turns() -> None:
        for n in range(1, turns + 1):
            await boxes.append(msg(f"m-{n}"), delay_s=0)
            claim = await boxes.claim(LEASE, limit=1)
            assert claim is not None
            state = ConversationState(KEY, Mode.AUTO, escalation_reason=f"turn {n}")
            await boxes.commit(claim, TurnCommit(1, (reply(f"m-{n}"),), state=state))
            await boxes.release(claim)
        done.set()

    async def read_all_along() -> None:
        while not done.is_set():
            state, entries = await transcripts.read(KEY)
            replies = sum(entry.author is Author.BOT for entry in entries)
            seen.append((state.escalation_reason if state else None, replies))
            await asyncio.sleep(0)

    await asyncio.gather(commit_turns(), read_all_along(), read_all_along())
    assert len(seen) > turns
    for reason, replies in seen:
        assert reason == (f"turn {replies}" if replies else None), seen
    state, entries = await transcripts.read(KEY, after=2 * turns - 2)
    assert [e.text for e in entries] == [f"reply to m-{turns}"]
    assert state is not None and state.escalation_reason == f"turn {turns}"
