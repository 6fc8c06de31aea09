"""A turn as the worker runs it: claimed, answered (or silent), committed, delivered."""

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.graph.state import turn_input
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.limits import MemoryUsageMeter
from agent.runtime.models import (
    Author,
    Claim,
    ConversationState,
    InboundMessage,
    Mode,
    OutboxItem,
)
from agent.runtime.stores import RuntimeStoreError
from agent.runtime.worker import PoolConfig, WorkerPool
from agent.tenant_tools import TenantTools
from agent.turns import BUDGET_SPENT_REASON, TurnProcessor
from tests.unit.graph.conftest import REFUNDS, Retrieval, tenants_with
from tests.unit.runtime.conftest import Runtime
from tools.context import Customer, ToolContext
from tools.errors import DeliveryError
from tools.registry import Tool, ToolRegistry

KEY = "demo:generic:c-1"


def message(
    text: str = "How long does a refund take?", message_id: str = "m-1", age_s: float = 0
) -> InboundMessage:
    return InboundMessage(
        "demo", "generic", "c-1", message_id, text, Customer("cust_1001"), time.time() - age_s
    )


class RecordingDelivery:
    """Our own Delivery interface, recording what a channel would have been asked to send."""

    def __init__(self, crash_after_sending: int = 0) -> None:
        self.sent: list[OutboxItem] = []
        self._crashes_left = crash_after_sending

    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        self.sent.append(item)
        if self._crashes_left:
            self._crashes_left -= 1
            raise ConnectionResetError("the worker died right after sending")


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def processor(
    tmp_path: Path,
    runtime: Runtime,
    delivery: Any,
    llm: ChatClient | None = None,
    timeout_s: float = 10,
    usage: MemoryUsageMeter | None = None,
    checkpointer: Any = None,
    registry: ToolRegistry | None = None,
    every_step: bool = False,
    **bot: Any,
) -> TurnProcessor:
    if registry is not None:
        bot.setdefault("tools", sorted(registry.names))
    tenants = tenants_with(tmp_path, **bot)
    tools = TenantTools({"demo": registry}) if registry else TenantTools.load(tenants, {})
    graph = build_graph(GraphDeps(tenants, Retrieval([REFUNDS]), tools, llm), checkpointer)
    return TurnProcessor(
        graph,
        runtime.mailboxes,
        runtime.transcripts,
        delivery,
        tenants,
        usage or MemoryUsageMeter(),
        timeout_s,
        checkpoint_every_step=every_step,
    )


async def take(runtime: Runtime, *messages: InboundMessage) -> Claim:
    for item in messages:
        await runtime.mailboxes.append(item, delay_s=0)
    claim = await runtime.mailboxes.claim(30, limit=20)
    assert claim is not None
    return claim


async def turn(turns: TurnProcessor, runtime: Runtime, *messages: InboundMessage) -> float:
    claim = await take(runtime, *messages)
    try:
        return await turns.handle(claim)
    finally:
        await runtime.mailboxes.release(claim)


async def test_turn_records_both_sides_commits_and_delivers(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    await turn(processor(tmp_path, runtime, delivery), runtime, message())
    entries = await runtime.transcripts.entries(KEY)
    assert [e.author for e in entries] == [Author.CUSTOMER, Author.BOT]
    bot = entries[1]
    assert bot.meta["in_reply_to"] == "m-1" and bot.meta["degraded"] is True
    assert [event["node"] for event in bot.meta["trace"]] == [
        "guard",
        "understand",
        "retrieve",
        "degraded",
    ]
    assert [item.key for item in delivery.sent] == ["m-1.reply"]
    assert delivery.sent[0].payload["text"] == bot.text
    assert await runtime.mailboxes.undelivered(KEY) == []
    assert await runtime.mailboxes.claim(30, limit=20) is None  # consumed


async def test_escalation_switches_to_manual_and_then_the_bot_is_silent(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await turn(turns, runtime, message("talk to a human please"))
    await turn(turns, runtime, message("hello?", message_id="m-2"))
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL
    assert state.escalation_reason == "customer_request"
    authors = [e.author for e in await runtime.transcripts.entries(KEY)]
    assert authors == [Author.CUSTOMER, Author.BOT, Author.CUSTOMER]
    assert [item.kind for item in delivery.sent] == ["reply", "handoff"]
    assert await runtime.mailboxes.depth() == 0  # recorded, consumed, not answered


async def test_handing_back_lets_the_bot_answer_again(tmp_path: Path, runtime: Runtime) -> None:
    await runtime.transcripts.save_state(ConversationState(KEY, Mode.MANUAL, "customer_request"))
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await turn(turns, runtime, message("anyone?"))
    assert delivery.sent == []
    await runtime.transcripts.save_state(ConversationState(KEY, Mode.AUTO))
    await turn(turns, runtime, message("How long does a refund take?", "m-2"))
    assert [item.key for item in delivery.sent] == ["m-2.reply"]


async def test_a_turn_that_runs_too_long_ends_with_a_handoff_not_silence(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="late", quirks=Quirks(latency_s=3))])
    delivery = RecordingDelivery()
    async with ChatClient(LLMConfig(base_url=model.base_url, timeout_s=10)) as llm:
        turns = processor(tmp_path, runtime, delivery, llm=llm, timeout_s=0.5)
        await turn(turns, runtime, message())
    reply, handoff = delivery.sent
    assert "TimeoutError" in handoff.payload["summary"]
    assert "Brightleaf team" in reply.payload["text"]
    state = await runtime.transcripts.state(KEY)
    assert state is not None and state.mode is Mode.MANUAL


async def test_history_reaches_the_graph(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script(
        [ScriptedResponse(content="Hello!"), ScriptedResponse(content="5–7 business days [1].")]
    )
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        turns = processor(tmp_path, runtime, RecordingDelivery(), llm=llm)
        await turn(turns, runtime, message("hi", "m-0"))
        await turn(turns, runtime, message())
    sent = model.requests[1]["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:3]] == [
        ("user", "hi"),
        ("assistant", "Hello!"),
    ]


async def test_a_burst_is_answered_in_one_turn(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days [1].")])
    delivery = RecordingDelivery()
    burst = (message("hi", "m-1"), message("my refund", "m-2"), message("is late", "m-3"))
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        await turn(processor(tmp_path, runtime, delivery, llm=llm), runtime, *burst)
    assert len(model.requests) == 1
    assert model.requests[0]["messages"][-1]["content"].startswith("hi\nmy refund\nis late\n")
    (reply,) = delivery.sent
    assert reply.payload["answers"] == ["m-1", "m-2", "m-3"]
    entries = await runtime.transcripts.entries(KEY)
    assert [e.message_id for e in entries] == ["m-1", "m-2", "m-3", "m-3.reply"]


async def test_a_crash_after_sending_replays_the_outbox_not_the_turn(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days [1].")])
    delivery = RecordingDelivery(crash_after_sending=1)
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        turns = processor(tmp_path, runtime, delivery, llm=llm)
        with pytest.raises(ConnectionResetError):
            await turn(turns, runtime, message())
        await turn(turns, runtime)  # the next claim finds only the undelivered outbox
    assert len(model.requests) == 1  # the turn itself ran once
    assert [item.key for item in delivery.sent] == ["m-1.reply", "m-1.reply"]  # same key
    bots = [e for e in await runtime.transcripts.entries(KEY) if e.author is Author.BOT]
    assert len(bots) == 1
    assert await runtime.mailboxes.undelivered(KEY) == []


async def test_a_refused_delivery_is_logged_and_not_retried_forever(
    tmp_path: Path, runtime: Runtime
) -> None:
    class Refusing:
        async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
            raise DeliveryError("callback URL answered 410")

    await turn(processor(tmp_path, runtime, Refusing()), runtime, message())
    assert await runtime.mailboxes.undelivered(KEY) == []
    assert len(await runtime.transcripts.entries(KEY)) == 2  # the reply is kept


async def test_a_turn_that_keeps_failing_hands_off_instead_of_looping(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await runtime.mailboxes.append(message(), delay_s=0)
    for _ in range(5):  # five workers died mid-turn
        claim = await runtime.mailboxes.claim(30, limit=20)
        assert claim is not None
        await runtime.mailboxes.release(claim)
    await turn(turns, runtime)
    assert [item.kind for item in delivery.sent] == ["reply", "handoff"]
    assert "did not complete 5 times" in delivery.sent[1].payload["summary"]


async def test_killed_workers_are_tolerated_longer_than_failed_attempts(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    boxes = runtime.mailboxes
    await boxes.append(message(), delay_s=0)
    for crash in range(8):  # eight workers were killed mid-turn, each taken over at once
        await boxes.heartbeat(f"w-{crash}", 0.01)
        assert await boxes.claim(30, limit=20, holder=f"w-{crash}") is not None
        await asyncio.sleep(0.02)
    await boxes.heartbeat("survivor", 30)
    claim = await boxes.claim(30, limit=20, holder="survivor")
    assert claim is not None and (claim.attempts, claim.crashes) == (1, 8)
    await turns.handle(claim)
    assert [item.kind for item in delivery.sent] == ["reply"]  # answered, not handed off
    await boxes.release(claim)


async def test_a_turn_whose_workers_keep_dying_is_handed_off_at_last(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    claim = await take(runtime, message())
    await turns.handle(replace(claim, crashes=21))
    assert [item.kind for item in delivery.sent] == ["reply", "handoff"]
    assert "died 21 times" in delivery.sent[1].payload["summary"]


async def test_turns_per_minute_quota_defers_the_turn(tmp_path: Path, runtime: Runtime) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery, limits__turns_per_minute=1)
    assert await turn(turns, runtime, message("hello", "m-1")) == 0
    wait_s = await turn(turns, runtime, message("hello again", "m-2"))
    assert 0 < wait_s <= 60
    assert [item.key for item in delivery.sent] == ["m-1.reply"]
    assert await runtime.mailboxes.depth() == 1  # m-2 waits for the next minute


async def test_spent_token_budget_answers_without_the_model(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    usage = MemoryUsageMeter()
    await usage.add_tokens("demo", 1000)
    delivery = RecordingDelivery()
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        turns = processor(
            tmp_path, runtime, delivery, llm, usage=usage, limits__model_tokens_per_day=1000
        )
        await turn(turns, runtime, message())
    assert model.requests == []
    bot = (await runtime.transcripts.entries(KEY))[-1]
    degraded = [e for e in bot.meta["trace"] if e["node"] == "degraded"]
    assert degraded[0]["detail"]["reason"] == BUDGET_SPENT_REASON


async def test_model_tokens_are_counted_per_tenant(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days [1].")])
    usage = MemoryUsageMeter()
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        await turn(
            processor(tmp_path, runtime, RecordingDelivery(), llm, usage=usage), runtime, message()
        )
    assert await usage.tokens_today("demo") > 0


async def test_a_long_wait_gets_a_holding_reply_then_the_answer(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery)
    await runtime.mailboxes.append(message(age_s=300), delay_s=0)
    claim = await runtime.mailboxes.claim_key(KEY, 30, limit=1)
    assert claim is not None
    await turns.hold(claim)
    await runtime.mailboxes.release(claim)
    assert await runtime.mailboxes.overdue(120) == []
    await turn(turns, runtime)
    assert [item.key for item in delivery.sent] == ["m-1.holding", "m-1.reply"]
    assert "more conversations than usual" in delivery.sent[0].payload["text"]


async def test_a_checkpointed_conversation_starts_each_turn_afresh(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    model.set_script(
        [ScriptedResponse(content="Hello!"), ScriptedResponse(content="5–7 business days [1].")]
    )
    saver = InMemorySaver()
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        turns = processor(tmp_path, runtime, RecordingDelivery(), llm=llm, checkpointer=saver)
        await turn(turns, runtime, message("hi", "m-0"))
        await turn(turns, runtime, message())
    first, second = [e for e in await runtime.transcripts.entries(KEY) if e.author is Author.BOT]
    assert (first.text, second.text) == ("Hello!", "5–7 business days [1].")
    assert [e["node"] for e in second.meta["trace"]].count("retrieve") == 1  # not carried over
    saved = await saver.aget_tuple({"configurable": {"thread_id": KEY}})
    assert saved is not None
    assert saved.checkpoint["channel_values"]["message"] == "How long does a refund take?"


class OrderId(BaseModel):
    order_id: str


async def test_a_turn_whose_worker_died_after_its_tool_call_resumes_there(
    tmp_path: Path, runtime: Runtime, model: ScriptedModelServer
) -> None:
    calls: list[str] = []

    def lookup(args: OrderId, context: ToolContext) -> dict[str, str]:
        calls.append(args.order_id)
        return {"order_id": args.order_id, "status": "shipped"}

    registry = ToolRegistry([Tool("lookup_order", "find an order", OrderId, lookup)])
    call = ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10234"})
    model.set_script([ScriptedResponse(tool_calls=[call]), ScriptedResponse(content="Shipped.")])
    boxes, delivery = runtime.mailboxes, RecordingDelivery()
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        turns = processor(
            tmp_path,
            runtime,
            delivery,
            llm=llm,
            checkpointer=InMemorySaver(),
            registry=registry,
            every_step=True,
        )
        graph = turns._runner._graph
        await boxes.append(message("Where is order BL-10234?"), delay_s=0)
        await boxes.heartbeat("doomed", 0.05)
        dead = await boxes.claim(30, limit=20, holder="doomed")
        assert dead is not None
        # the doomed worker's turn: its tool call is made and checkpointed, then it dies
        started = turn_input(KEY, "demo", dead.messages[0].customer, [], "order?", ["m-1"])
        config = {"configurable": {"thread_id": KEY}}
        await graph.ainvoke(started, config, interrupt_after=["tools"], durability="async")
        assert calls == ["BL-10234"] and len(model.requests) == 1
        await asyncio.sleep(0.1)
        await boxes.heartbeat("survivor", 30)
        claim = await boxes.claim(30, limit=20, holder="survivor")
        assert claim is not None and claim.crashes == 1
        await turns.handle(claim)
    assert calls == ["BL-10234"]  # not made again
    assert len(model.requests) == 2  # only the reply was asked for
    assert [item.payload.get("text") for item in delivery.sent] == ["Shipped."]
    await boxes.release(claim)
    assert await turns._runner.unfinished(KEY) == ()


class TestWorkerPool:
    async def test_pool_answers_and_stops_when_asked(
        self, tmp_path: Path, runtime: Runtime
    ) -> None:
        delivery = RecordingDelivery()
        turns = processor(tmp_path, runtime, delivery)
        pool = WorkerPool(runtime.mailboxes, turns.handle, turns.hold, _config())
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        await runtime.mailboxes.append(message(message_id="m-9"), delay_s=0)
        await _until(lambda: bool(delivery.sent))
        stop.set()
        await asyncio.wait_for(task, 3)
        assert [item.key for item in delivery.sent] == ["m-9.reply"]

    async def test_one_turn_at_a_time_per_conversation(self, runtime: Runtime) -> None:
        inside: dict[str, int] = {}
        most = 0
        done: list[str] = []

        async def handle(claim: Claim) -> float:
            nonlocal most
            key = claim.conversation_key
            inside[key] = inside.get(key, 0) + 1
            most = max(most, inside[key])
            await asyncio.sleep(0.05)
            inside[key] -= 1
            await runtime.mailboxes.commit(claim, _consume(claim))
            done.extend(m.message_id for m in claim.messages)
            return 0.0

        pool = WorkerPool(runtime.mailboxes, handle, _never_hold, _config(concurrency=4))
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        for i in range(6):
            await runtime.mailboxes.append(message(message_id=f"m-{i}"), delay_s=0)
            await asyncio.sleep(0.02)
        await _until(lambda: len(done) == 6)
        stop.set()
        await asyncio.wait_for(task, 3)
        assert most == 1 and done == [f"m-{i}" for i in range(6)]

    async def test_a_stalled_turn_loses_its_lease_and_cannot_commit(self, runtime: Runtime) -> None:
        outcomes: list[str] = []

        async def stalls_then_commits(claim: Claim) -> float:
            if claim.attempts == 1:
                await asyncio.sleep(5)  # stalled (a GC pause, a partition...)
            await runtime.mailboxes.commit(claim, _consume(claim))
            outcomes.append(f"committed by attempt {claim.attempts}")
            return 0.0

        # The first holder's lease (0.3 s) runs out before its first renewal (after 1 s);
        # a second worker takes the conversation over, so the renewal is refused and the
        # stalled turn is cancelled before it could commit.
        await runtime.mailboxes.append(message(), delay_s=0)
        first = await runtime.mailboxes.claim(0.3, limit=20)
        assert first is not None
        pool = WorkerPool(runtime.mailboxes, stalls_then_commits, _never_hold, _config(lease_s=3.0))
        serving = asyncio.create_task(pool._serve(first, stalls_then_commits))
        await asyncio.sleep(0.45)
        second = await runtime.mailboxes.claim(30, limit=20)
        assert second is not None and second.fence > first.fence
        await asyncio.wait_for(serving, 2)  # cancelled by the failed renew, not after 5 s
        await stalls_then_commits(second)
        assert outcomes == ["committed by attempt 2"]

    async def test_a_killed_pools_conversation_is_taken_over_before_its_lease_ends(
        self, runtime: Runtime
    ) -> None:
        started = asyncio.Event()
        answered: list[tuple[int, int]] = []

        async def hangs(claim: Claim) -> float:
            started.set()
            await asyncio.sleep(3600)
            return 0.0

        async def answers(claim: Claim) -> float:
            await runtime.mailboxes.commit(claim, _consume(claim))
            answered.append((claim.attempts, claim.crashes))
            return 0.0

        config = PoolConfig(concurrency=2, lease_s=30.0, idle_wait_s=0.05, heartbeat_s=0.4)
        doomed = WorkerPool(runtime.mailboxes, hangs, _never_hold, config)
        killed = asyncio.create_task(doomed.run(asyncio.Event()))
        await runtime.mailboxes.append(message(), delay_s=0)
        await asyncio.wait_for(started.wait(), 2)
        killed.cancel()  # the pool: it waits for its turns...
        await asyncio.sleep(0.05)
        killed.cancel()  # ...which are killed too: nothing is released
        await asyncio.gather(killed, return_exceptions=True)
        survivor = WorkerPool(runtime.mailboxes, answers, _never_hold, config)
        stop = asyncio.Event()
        task = asyncio.create_task(survivor.run(stop))
        await _until(lambda: bool(answered))  # well before the 30 s lease
        stop.set()
        await asyncio.wait_for(task, 3)
        assert answered == [(1, 1)]


async def test_the_watchdog_holds_a_message_that_waited_too_long(runtime: Runtime) -> None:
    held: list[str] = []

    async def busy(claim: Claim) -> float:  # every slot is taken by a long turn
        await asyncio.sleep(1.5)
        return 0.0

    async def hold(claim: Claim) -> None:
        held.extend(m.message_id for m in claim.messages)
        await runtime.mailboxes.mark_held(claim.conversation_key)

    config = PoolConfig(
        concurrency=1, lease_s=5, idle_wait_s=0.05, max_message_age_s=0.3, watchdog_every_s=0.1
    )
    pool = WorkerPool(runtime.mailboxes, busy, hold, config)
    stop = asyncio.Event()
    task = asyncio.create_task(pool.run(stop))
    await runtime.mailboxes.append(message(message_id="m-a"), delay_s=0)
    await asyncio.sleep(0.1)
    other = InboundMessage("demo", "generic", "c-2", "m-b", "hello?", Customer("cust_2"))
    await runtime.mailboxes.append(other, delay_s=0)  # waits: the only slot is busy
    await _until(lambda: held == ["m-b"], timeout_s=1.2)  # before the busy turn ends
    stop.set()
    await asyncio.wait_for(task, 3)
    assert held == ["m-b"]  # the busy conversation (m-a) was never held


async def _never_hold(claim: Claim) -> None:
    raise AssertionError("no holding reply expected")


def _consume(claim: Claim) -> Any:
    from agent.runtime.models import TurnCommit

    return TurnCommit(consumed=len(claim.messages))


def _config(concurrency: int = 2, lease_s: float = 5.0) -> PoolConfig:
    return PoolConfig(concurrency=concurrency, lease_s=lease_s, idle_wait_s=0.1)


async def _until(condition: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_conversation_state_round_trips() -> None:
    state = ConversationState("k", Mode.MANUAL, "tool_failure", 12.5)
    assert ConversationState.from_dict(state.to_dict()) == state
    assert state.to_dict()["v"] == 1


async def test_the_lease_keeper_stops_with_the_turn_even_mid_renewal(runtime: Runtime) -> None:
    """A keeper stopped by cancellation can miss it on Python 3.11 (a Redis command that
    completes swallows it) and renew forever; it stops on an event instead."""
    renewals: list[float] = []

    class SlowRenew:
        def __getattr__(self, name: str) -> Any:
            return getattr(runtime.mailboxes, name)

        async def renew(self, claim: Claim, lease_s: float) -> None:
            renewals.append(time.monotonic())
            await asyncio.sleep(0.15)  # the turn ends while this is in flight

    async def turn(claim: Claim) -> float:
        await asyncio.sleep(0.25)
        return 0.0

    await runtime.mailboxes.append(message(), delay_s=0)
    claim = await runtime.mailboxes.claim(30, limit=20)
    assert claim is not None
    pool = WorkerPool(SlowRenew(), turn, _never_hold, _config(lease_s=0.3))  # type: ignore[arg-type]
    await asyncio.wait_for(pool._with_lease(claim, turn), 2)
    count = len(renewals)
    await asyncio.sleep(0.4)
    assert count >= 1 and len(renewals) == count  # no renewal after the turn ended


class CheckpointsDown(InMemorySaver):
    """A checkpointer whose store has gone away (Redis restarting)."""

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        raise CheckpointError("Redis failed to store a checkpoint: Connection closed by server.")


async def test_a_store_failure_mid_turn_is_retried_not_handed_off(
    tmp_path: Path, runtime: Runtime
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, runtime, delivery, checkpointer=CheckpointsDown())
    with pytest.raises(RuntimeStoreError):
        await turn(turns, runtime, message())
    assert await runtime.transcripts.state(KEY) is None  # not switched to manual
    assert delivery.sent == []
    assert await runtime.mailboxes.depth() == 1  # the message waits for the retry
