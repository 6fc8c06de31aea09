"""``deskhand bench prefix``: how much of each prompt the next one repeats (vLLM's prefix cache).

A scripted conversation of ``--turns`` customer messages (order questions that call the
``lookup_order`` tool, policy questions answered from the help center) runs through the
demo tenant's full graph as a worker runs it: each turn's history built from the
transcript, the graph invoked with a checkpointer (thread = conversation), the bot's
transcript entry written as the worker writes it. Retrieval is real, over the demo help
center ingested into a temporary Chroma; the tools call the demo shop on a local port; the
model is the scripted server's demo responder.

The measure is taken on the requests the scripted server received. A request's static
part is its tool schemas and system message; the rest, its conversation-specific tail, is
read as the JSON of its messages. For each pair of consecutive requests: the share of the
earlier tail that the later tail repeats verbatim from its start (0 when the static parts
differ: the cache would miss from the first token). ``prefix_reuse`` is the mean over the
pairs; padding the static part cannot move it.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.common import friendly_errors

if TYPE_CHECKING:
    from agent.config.botfile import BotConfig
    from agent.graph_runs import GraphRunner
    from agent.runtime.models import TranscriptEntry

TENANT = "demo"
CONVERSATION = (
    "Hi! Where is my order BL-10234?",
    "How long does delivery to Germany usually take?",
    "If the lamp doesn't suit my living room, can I send it back?",
    "How long does the refund take once you have it?",
    "Do I get the original shipping costs back as well?",
    "Could you also check order 10217 for me?",
    "Can I pay for a new order partly with a gift card?",
    "Thanks! How should I look after the cast iron pan I bought?",
)


def prefix(
    turns: Annotated[int, typer.Option("--turns", min=2, help="Customer messages.")] = 8,
) -> None:
    """Replay a scripted conversation and measure the prompt prefix each request reuses.

    Prints one JSON line: turns, prefix_reuse (the mean share of a request's
    conversation-specific part that the next request repeats at the same position) and
    static_prefix_chars (the tool schemas and system prompt, the same in every request).
    """
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        requests = asyncio.run(_converse(turns, Path(tmp)))
    reuse = pair_reuse(requests)
    for n, share in enumerate(reuse, start=1):
        _log(f"requests {n}->{n + 1}: {share:.3f} of {len(tail_text(requests[n - 1]))} chars")
    result = {
        "turns": turns,
        "prefix_reuse": round(sum(reuse) / len(reuse), 3) if reuse else 0.0,
        "static_prefix_chars": len(static_text(requests[0])) if requests else 0,
    }
    typer.echo(json.dumps(result))


def static_text(request: dict[str, Any]) -> str:
    """What every request of a tenant must share: tools, then the system message."""
    messages = request.get("messages") or []
    system = messages[0] if messages and messages[0].get("role") == "system" else None
    return json.dumps(request.get("tools") or [], ensure_ascii=False) + json.dumps(system)


def tail_text(request: dict[str, Any]) -> str:
    """The conversation-specific part: every message after the system message, as sent."""
    messages = request.get("messages") or []
    start = 1 if messages and messages[0].get("role") == "system" else 0
    return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages[start:])


def pair_reuse(requests: Sequence[dict[str, Any]]) -> list[float]:
    """For each consecutive pair, the share of the first tail the second one repeats."""
    shares = []
    for earlier, later in itertools.pairwise(requests):
        before, after = tail_text(earlier), tail_text(later)
        if static_text(earlier) != static_text(later) or not before:
            shares.append(0.0 if before else 1.0)
            continue
        shares.append(_common_prefix(before, after) / len(before))
    return shares


def _common_prefix(a: str, b: str) -> int:
    length = min(len(a), len(b))
    for index in range(length):
        if a[index] != b[index]:
            return index
    return length


async def _converse(turns: int, tmp: Path) -> list[dict[str, Any]]:
    from langgraph.checkpoint.memory import InMemorySaver
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from agent.background_server import BackgroundServer
    from agent.llm.stub import ScriptedModelServer
    from agent.llm.stub.demo import DemoResponder
    from tools.demo_shop import DemoShop, create_demo_shop_app

    retriever = _help_center(tmp)
    shop = Starlette(routes=[Mount("/demo-shop", app=create_demo_shop_app(DemoShop.load()))])
    with (
        BackgroundServer(shop, name="demo-shop") as shop_server,
        ScriptedModelServer(DemoResponder()) as model,
    ):
        runner, close = _runner(retriever, shop_server.address[1], model.base_url, InMemorySaver())
        try:
            await _talk(runner, turns)
        finally:
            await close()
        return model.requests


def _help_center(tmp: Path) -> Any:
    from dataclasses import replace

    from agent.config.derived import knowledge_config
    from agent.config.settings import Settings
    from agent.demo import DEMO_KB_DIR
    from knowledge import KnowledgeStore
    from knowledge.loaders.files import load_folder
    from knowledge.retriever import Retriever

    config = replace(knowledge_config(Settings()), persist_dir=tmp / "chroma", chroma_url=None)
    store = KnowledgeStore.open(config)
    documents = load_folder(DEMO_KB_DIR).documents
    store.sync_documents(TENANT, documents)
    _log(f"demo help center ingested: {store.stats(TENANT)['chunks']} chunks")
    return Retriever(store)


def _runner(retriever: Any, shop_port: int, model_url: str, saver: Any) -> tuple[GraphRunner, Any]:
    from agent.cli.bench.turn_setup import retrieve_in_thread
    from agent.config.settings import DEMO_TENANTS_DIR
    from agent.config.tenants import TenantRegistry
    from agent.graph.build import build_graph
    from agent.graph.deps import GraphDeps
    from agent.graph_runs import GraphRunner
    from agent.llm.client import ChatClient
    from agent.llm.config import LLMConfig
    from agent.tenant_tools import TenantTools

    bot = _on_the_path(TenantRegistry.load(DEMO_TENANTS_DIR).get(TENANT))
    tenants = TenantRegistry({TENANT: bot}, {TENANT: DEMO_TENANTS_DIR / f"{TENANT}.yaml"})
    tools = TenantTools.load(tenants, {"DESKHAND_PORT": str(shop_port)})
    llm = ChatClient(LLMConfig(base_url=model_url, timeout_s=30.0, max_retries=0))
    graph = build_graph(GraphDeps(tenants, retrieve_in_thread(retriever), tools, llm), saver)
    return GraphRunner(graph, timeout_s=60.0), llm.aclose


def _on_the_path(bot: BotConfig) -> BotConfig:
    """The demo bot without the hand-offs that would end the scripted conversation early
    (weak retrieval several turns running, too many turns): the bench measures prompts."""
    rules = {"low_confidence_turns": None, "max_turns": None}
    return bot.model_copy(update={"escalation": bot.escalation.model_copy(update=rules)})


async def _talk(runner: GraphRunner, turns: int) -> None:
    from agent.graph.prompts import history_messages
    from agent.graph.state import turn_input
    from agent.runtime.models import Author, InboundMessage, TranscriptEntry
    from agent.turn_records import bot_entry
    from tools.context import Customer

    customer = Customer("cust_1001", "alex@example.com", "Alex Morgan", "en")
    transcript: list[TranscriptEntry] = []
    for n in range(turns):
        text = CONVERSATION[n % len(CONVERSATION)]
        message = InboundMessage(TENANT, "generic", "bench-prefix", f"m{n}", text, customer)
        key = message.conversation_key
        state = turn_input(key, TENANT, customer, history_messages(transcript), text)
        outcome = await runner.run(state, key, customer.id)
        asked = TranscriptEntry(Author.CUSTOMER, text, message.message_id)
        transcript += [asked, bot_entry((message,), outcome)]
        _log(f"turn {n + 1}: {_said(outcome)}")


def _said(outcome: Any) -> str:
    if outcome.escalation is not None:
        return f"escalated ({outcome.escalation.reason.value})"
    text = outcome.reply.text if outcome.reply is not None else ""
    return text[:70].replace("\n", " ")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
