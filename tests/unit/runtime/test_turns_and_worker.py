"""A turn as the worker runs it: recorded, answered (or silent), delivered, acknowledged."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse
from agent.outcome import TurnOutcome
from agent.runtime.memory import MemoryLocks, MemoryTurnQueue
from agent.runtime.models import (
    Author,
    ConversationState,
    InboundMessage,
    Mode,
    TranscriptEntry,
)
from agent.runtime.redis_stores import RedisKeys, RedisLocks, RedisTurnQueue
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.worker import Worker
from agent.tenant_tools import TenantTools
from agent.turns import TurnProcessor
from tests.unit.graph.conftest import REFUNDS, Retrieval, tenants_with
from tools.context import Customer


def message(text: str = "How long does a refund take?", message_id: str = "m-1") -> InboundMessage:
    return InboundMessage("demo", "generic", "c-1", message_id, text, Customer("cust_1001"))


class RecordingDelivery:
    """Our own Delivery interface, recording what a channel would have been asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, TranscriptEntry, TurnOutcome]] = []

    async def deliver(
        self, message: InboundMessage, reply: TranscriptEntry, outcome: TurnOutcome
    ) -> None:
        self.sent.append((message.message_id, reply, outcome))


@pytest.fixture
async def transcripts(tmp_path: Path) -> AsyncIterator[SqliteTranscripts]:
    database = await SqliteDatabase.open(tmp_path / "t.sqlite3")
    yield SqliteTranscripts(database)
    await database.close()


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


def processor(
    tmp_path: Path,
    transcripts: SqliteTranscripts,
    delivery: RecordingDelivery,
    llm: ChatClient | None = None,
    timeout_s: float = 10,
) -> TurnProcessor:
    tenants = tenants_with(tmp_path)
    tools = TenantTools.load(tenants, {})  # never called in these turns
    graph = build_graph(GraphDeps(tenants, Retrieval([REFUNDS]), tools, llm))
    return TurnProcessor(graph, transcripts, delivery, tenants, timeout_s)


async def test_turn_records_both_sides_and_delivers(
    tmp_path: Path, transcripts: SqliteTranscripts
) -> None:
    delivery = RecordingDelivery()
    await processor(tmp_path, transcripts, delivery).handle(message())
    entries = await transcripts.entries("demo:generic:c-1")
    assert [e.author for e in entries] == [Author.CUSTOMER, Author.BOT]
    bot = entries[1]
    assert bot.meta["in_reply_to"] == "m-1" and bot.meta["degraded"] is True
    assert [event["node"] for event in bot.meta["trace"]] == ["understand", "retrieve", "degraded"]
    assert delivery.sent[0][1] == bot


async def test_escalation_switches_to_manual_and_then_the_bot_is_silent(
    tmp_path: Path, transcripts: SqliteTranscripts
) -> None:
    delivery = RecordingDelivery()
    turns = processor(tmp_path, transcripts, delivery)
    await turns.handle(message("talk to a human please"))
    await turns.handle(message("hello?", message_id="m-2"))
    state = await transcripts.state("demo:generic:c-1")
    assert state is not None and state.mode is Mode.MANUAL
    assert state.escalation_reason == "customer_request"
    authors = [e.author for e in await transcripts.entries("demo:generic:c-1")]
    assert authors == [Author.CUSTOMER, Author.BOT, Author.CUSTOMER]
    assert len(delivery.sent) == 1


async def test_a_turn_that_runs_too_long_ends_with_a_handoff_not_silence(
    tmp_path: Path, transcripts: SqliteTranscripts, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="late", quirks=Quirks(latency_s=3))])
    delivery = RecordingDelivery()
    async with ChatClient(LLMConfig(base_url=model.base_url, timeout_s=10)) as llm:
        turns = processor(tmp_path, transcripts, delivery, llm=llm, timeout_s=0.5)
        await turns.handle(message())
    (_, reply, outcome) = delivery.sent[0]
    assert outcome.escalation is not None
    assert "TimeoutError" in outcome.escalation.detail
    assert "Brightleaf team" in reply.text
    state = await transcripts.state("demo:generic:c-1")
    assert state is not None and state.mode is Mode.MANUAL


async def test_history_reaches_the_graph(
    tmp_path: Path, transcripts: SqliteTranscripts, model: ScriptedModelServer
) -> None:
    await transcripts.append("demo:generic:c-1", TranscriptEntry(Author.CUSTOMER, "hi", "m-0"))
    await transcripts.append("demo:generic:c-1", TranscriptEntry(Author.BOT, "Hello!", "m-0.r"))
    model.set_script([ScriptedResponse(content="5–7 business days [1].")])
    async with ChatClient(LLMConfig(base_url=model.base_url)) as llm:
        await processor(tmp_path, transcripts, RecordingDelivery(), llm=llm).handle(message())
    sent = model.requests[0]["messages"]
    assert [(m["role"], m["content"]) for m in sent[1:3]] == [
        ("user", "hi"),
        ("assistant", "Hello!"),
    ]


@pytest.mark.redis
async def test_a_failed_turn_is_not_acknowledged(redis_client: "Redis", redis_prefix: str) -> None:
    keys = RedisKeys(redis_prefix)
    queue = RedisTurnQueue(redis_client, keys)
    await queue.put(message())

    async def crash(_: InboundMessage) -> None:
        raise ConnectionError("store went away mid-turn")

    worker = Worker(queue, RedisLocks(redis_client, keys), crash, lock_ttl_s=5, poll_s=0.1)
    taken = await queue.take(1)
    assert taken is not None
    await worker.process(taken)
    assert await redis_client.llen(keys.processing) == 1  # kept for redelivery

    async def fine(_: InboundMessage) -> None:
        return None

    await Worker(queue, MemoryLocks(), fine, lock_ttl_s=5).process(taken)
    assert await redis_client.llen(keys.processing) == 0


async def test_workers_stop_when_asked() -> None:
    queue = MemoryTurnQueue()
    handled: list[str] = []

    async def handle(m: InboundMessage) -> None:
        handled.append(m.message_id)

    stop = asyncio.Event()
    worker = Worker(queue, MemoryLocks(), handle, lock_ttl_s=5, poll_s=0.05)
    task = asyncio.create_task(worker.run(stop))
    await queue.put(message(message_id="m-9"))
    for _ in range(40):
        if handled:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert handled == ["m-9"]
    assert await queue.depth() == 0


def test_conversation_state_round_trips() -> None:
    state = ConversationState("k", Mode.MANUAL, "tool_failure", 12.5)
    assert ConversationState.from_dict(state.to_dict()) == state
    assert state.to_dict()["v"] == 1
