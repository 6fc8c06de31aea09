"""``deskhand bench turn``: the time one turn takes, ours against a textbook LangGraph agent.

Both graphs answer the same synthetic conversations in the same run, against the same
scripted model server answering at once (one ``lookup_order`` call, then the reply), over
the same ``--chunks`` synthetic chunks (``bench search``'s, with random vectors; every
query is embedded by the real model). Ours is the full turn graph (guard, understand,
hybrid retrieval, agent, tools, respond) with the Redis checkpointer, each turn's input
built from the transcript as the worker builds it; the baseline is described in
``agent.cli.bench.turn_baseline``. Turns alternate between the two, so both see the same
machine. The bench refuses to run without a reachable Redis (``--redis-url``); its keys
have a prefix of their own and are deleted afterwards.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from agent.cli.bench.retrieval import percentile
from agent.cli.common import friendly_errors

if TYPE_CHECKING:
    from agent.cli.bench.search import Vocabulary
    from knowledge import KnowledgeStore
    from knowledge.retriever import Retriever

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SEED = 20261130
WARM_UP_TURNS = 3
CHECKPOINT_TTL_S = 3600.0

Turn = Callable[[str, str, str], Awaitable[None]]


def turn(
    chunks: Annotated[int, typer.Option("--chunks", min=1, help="Synthetic chunks to index.")] = (
        10_000
    ),
    turns: Annotated[int, typer.Option("--turns", min=1, help="Turns to time, each graph.")] = 200,
    per_conversation: Annotated[
        int, typer.Option("--per-conversation", min=1, help="Turns in each conversation.")
    ] = 5,
    redis_url: Annotated[
        str, typer.Option("--redis-url", help="The Redis of our graph's checkpointer.")
    ] = DEFAULT_REDIS_URL,
) -> None:
    """Time a turn of our graph (Redis checkpointer) and of a textbook LangGraph agent.

    Prints one JSON line: turns, p50_ms and p99_ms (ours), baseline_p50_ms, and ratio
    (our p50 over the baseline's).
    """
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        ours, baseline = asyncio.run(_run(chunks, turns, per_conversation, redis_url, Path(tmp)))
    ours_p50, base_p50 = percentile(ours, 50), percentile(baseline, 50)
    result = {
        "turns": len(ours),
        "p50_ms": ours_p50,
        "p99_ms": percentile(ours, 99),
        "baseline_p50_ms": base_p50,
        "ratio": round(ours_p50 / base_p50, 2) if base_p50 else None,
    }
    typer.echo(json.dumps(result))


async def _run(
    chunks: int, turns: int, per_conversation: int, redis_url: str, tmp: Path
) -> tuple[list[float], list[float]]:
    from agent.cli.bench.turn_setup import ToolThenReply
    from agent.llm.stub import ScriptedModelServer
    from agent.runtime.checkpoint.factory import open_redis_checkpointer

    prefix = f"deskhand:bench-turn:{uuid.uuid4().hex[:8]}:"
    async with open_redis_checkpointer(redis_url, prefix=prefix, ttl_s=CHECKPOINT_TTL_S) as saver:
        knowledge = _knowledge(chunks, tmp)
        with ScriptedModelServer(ToolThenReply()) as model:
            bench = await _Bench.open(knowledge, saver, model.base_url)
            try:
                return await bench.measure(turns, per_conversation)
            finally:
                await bench.close()


@dataclass(frozen=True)
class _Knowledge:
    store: KnowledgeStore
    retriever: Retriever
    collection: Any  # the same Chroma collection, as the baseline queries it
    words: Vocabulary


def _knowledge(count: int, tmp: Path) -> _Knowledge:
    from dataclasses import replace

    import numpy as np
    from chromadb.api.types import Embeddable, EmbeddingFunction

    from agent.cli.bench.search import Vocabulary, synthetic_chunks
    from agent.cli.bench.turn_setup import TENANT
    from agent.config.derived import knowledge_config
    from agent.config.settings import Settings
    from knowledge import KnowledgeStore
    from knowledge.chroma import connect
    from knowledge.retriever import Retriever

    config = replace(knowledge_config(Settings()), persist_dir=tmp / "chroma", chroma_url=None)
    client = connect(config)
    store = KnowledgeStore(client, config)
    rng = random.Random(SEED)
    words = Vocabulary(rng)
    dimension = len(store.embeddings.embed(["dimension probe"])[0])
    vectors = np.random.default_rng(SEED)
    for start in range(0, count, 5000):
        batch = synthetic_chunks(words, rng, start, min(5000, count - start))
        matrix = vectors.standard_normal((len(batch), dimension)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        store.add_chunks(TENANT, batch, matrix)
    _log(f"{count} chunks written (random vectors)")
    retriever = Retriever(store)
    retriever.search(TENANT, "warm up")  # loads the model, builds the BM25 index
    name = store.collection_name(TENANT)
    embeddings = cast("EmbeddingFunction[Embeddable]", store.embeddings)  # it embeds documents
    collection = client.get_collection(name, embedding_function=embeddings)
    return _Knowledge(store, retriever, collection, words)


@dataclass
class _Bench:
    ours: Any
    baseline: Any
    clients: list[Any]
    saver: Any
    words: Vocabulary
    transcripts: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    async def open(cls, knowledge: _Knowledge, saver: Any, base_url: str) -> _Bench:
        from agent.cli.bench.turn_baseline import build_baseline
        from agent.cli.bench.turn_setup import (
            TENANT,
            baseline_tools,
            bench_bot,
            our_tools,
            retrieve_in_thread,
            tool_specs,
        )
        from agent.config.tenants import TenantRegistry
        from agent.graph.build import build_graph
        from agent.graph.deps import GraphDeps
        from agent.graph.nodes.agent import _options  # the very options our agent sends
        from agent.llm.client import ChatClient
        from agent.llm.config import LLMConfig
        from agent.tenant_tools import TenantTools

        bot = bench_bot()
        registry = our_tools()
        config = LLMConfig(base_url=base_url, timeout_s=10.0, max_retries=0)
        ours_llm, baseline_llm = ChatClient(config), ChatClient(config)
        deps = GraphDeps(
            TenantRegistry({TENANT: bot}),
            retrieve_in_thread(knowledge.retriever),
            TenantTools({TENANT: registry}),
            ours_llm,
        )
        options = _options(bot, True)
        baseline = build_baseline(
            knowledge.collection,
            baseline_llm,
            tool_specs(registry),
            baseline_tools(),
            options,
            bot.retrieval.top_k,
        )
        graph = build_graph(deps, saver)
        return cls(graph, baseline, [ours_llm, baseline_llm], saver, knowledge.words)

    async def measure(self, turns: int, per_conversation: int) -> tuple[list[float], list[float]]:
        rng = random.Random(SEED)
        await self._warm_up(rng)
        ours: list[float] = []
        baseline: list[float] = []
        conversation = 0
        while len(ours) < turns:
            conversation += 1
            for n in range(min(per_conversation, turns - len(ours))):
                text = self._question(rng)
                pair = [(ours, self._ours), (baseline, self._baseline)]
                for times, run in pair if n % 2 == 0 else reversed(pair):
                    started = time.perf_counter()
                    await run(f"c{conversation}", f"m{n}", text)
                    times.append((time.perf_counter() - started) * 1000)
            if conversation % 10 == 0:
                _log(f"{len(ours)} turns timed")
        return ours, baseline

    async def _warm_up(self, rng: random.Random) -> None:
        for n in range(WARM_UP_TURNS):
            text = self._question(rng)
            await self._ours("warm-up", f"m{n}", text)
            await self._baseline("warm-up", f"m{n}", text)

    def _question(self, rng: random.Random) -> str:
        topic = " ".join(self.words.sample(rng, rng.randint(3, 6)))
        return f"Where is my order BL-{rng.randint(10000, 99999)}? It is the {topic} one."

    async def _ours(self, conversation: str, message_id: str, text: str) -> None:
        from agent.cli.bench.turn_setup import TENANT
        from agent.graph.prompts import history_messages
        from agent.graph.state import turn_input
        from agent.runtime.models import Author, TranscriptEntry
        from tools.context import Customer

        key = f"{TENANT}:bench:{conversation}"
        entries = self.transcripts.setdefault(key, [])
        customer = Customer("cust_1001", "alex@example.com", "Alex Morgan", "en")
        state = turn_input(key, TENANT, customer, history_messages(entries), text)
        config = {"configurable": {"thread_id": key}}
        result = await self.ours.ainvoke(state, config, durability="exit")
        reply = result.get("reply")
        if reply is None or result.get("escalation") is not None:
            nodes = [event.node for event in result.get("trace", [])]
            raise RuntimeError(f"our graph left the bench's path: {nodes}")
        entries.append(TranscriptEntry(Author.CUSTOMER, text, message_id))
        meta = {"answers": [message_id]}
        entries.append(TranscriptEntry(Author.BOT, reply.text, f"{message_id}.reply", meta=meta))

    async def _baseline(self, conversation: str, message_id: str, text: str) -> None:
        from agent.cli.bench.turn_baseline import baseline_input

        config = {"configurable": {"thread_id": conversation}}
        await self.baseline.ainvoke(baseline_input(text), config)

    async def close(self) -> None:
        for key in self.transcripts:
            await self.saver.adelete_thread(key)
        for client in self.clients:
            await client.aclose()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
