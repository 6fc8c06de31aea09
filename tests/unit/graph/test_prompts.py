"""The prompt layout: a static tenant prefix, earlier turns as sent, this turn's context last."""

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agent.config.settings import DEMO_TENANTS_DIR
from agent.config.tenants import TenantRegistry
from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.graph.nodes.tools import ESCALATE_TOOL
from agent.graph.prompts import (
    CONTEXT_OPEN,
    KNOWLEDGE_OPEN,
    SHOWN_ABOVE,
    AgentState,
    build_prompt,
    customer_turn,
    history_messages,
    system_prompt,
    turn_facts,
)
from agent.graph.state import turn_input
from agent.llm.client import ChatClient
from agent.llm.request import build_request_body
from agent.llm.stub import ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.llm.types import ChatMessage, ChatOptions, ToolSpec
from agent.runtime.models import Author, TranscriptEntry
from agent.tenant_tools import TenantTools
from tests.support.demo_shop import RunningShop
from tests.unit.graph.conftest import ALEX, REFUNDS, SHIPPING, Retrieval, tenants_with
from tools.context import Customer

TODAY = date(2026, 11, 30)
KEY = "demo:generic:c-1"


def test_the_system_prompt_depends_only_on_the_tenant(tmp_path: Path) -> None:
    first = tenants_with(tmp_path).get("demo")
    again = TenantRegistry.load(tmp_path).get("demo")
    assert system_prompt(first) == system_prompt(again)
    assert "Alex" not in (system_prompt(first).content or "")


def test_tool_schemas_are_serialised_byte_identically() -> None:
    def tools_json() -> str:
        tenants = TenantRegistry.load(DEMO_TENANTS_DIR)
        registry = TenantTools.load(tenants, {"DESKHAND_PORT": "8000"}).get("demo")
        schemas = registry.schemas(tenants.get("demo").tools)
        specs = [ToolSpec(s.name, s.description, s.parameters) for s in schemas]
        body = build_request_body(
            [], [*specs, ESCALATE_TOOL], ChatOptions(), default_model="m", stream=False
        )
        return json.dumps(body["tools"])

    assert tools_json() == tools_json()


def test_the_customer_message_comes_first_then_knowledge_then_facts() -> None:
    facts = turn_facts(ALEX, TODAY)
    content = customer_turn("How long does a refund take?", [REFUNDS, SHIPPING], facts).content
    assert content is not None
    assert content.startswith("How long does a refund take?\n\n<knowledge>\n[1] Refunds › ")
    assert content.index(KNOWLEDGE_OPEN) < content.index("[2] Shipping times and costs\n")
    assert content.endswith(facts)
    assert facts.splitlines() == [
        CONTEXT_OPEN,
        "Customer: Alex Morgan <alex@example.com>, customer id cust_1001, locale en",
        "Today: Monday 2026-11-30 (UTC)",
        "</context>",
    ]
    assert turn_facts(Customer("c9"), TODAY).splitlines()[1] == "Customer: customer id c9"
    assert customer_turn("hi", []).content == "hi"


def test_what_the_history_already_shows_is_not_repeated() -> None:
    facts = turn_facts(ALEX, TODAY)
    shown = customer_turn("refund?", [REFUNDS], facts).content or ""
    content = customer_turn("and shipping?", [REFUNDS, SHIPPING], facts, shown).content or ""
    assert f"[1] Refunds › How long a refund takes {SHOWN_ABOVE}" in content
    assert REFUNDS.text not in content and SHIPPING.text in content
    assert CONTEXT_OPEN not in content  # the same facts are already above


def test_history_joins_the_messages_one_reply_answered() -> None:
    entries = [
        TranscriptEntry(Author.CUSTOMER, "hi", "m1"),
        TranscriptEntry(Author.CUSTOMER, "my order", "m2"),
        TranscriptEntry(Author.BOT, "Which one?", "m2.reply", meta={"answers": ["m1", "m2"]}),
        TranscriptEntry(Author.CUSTOMER, "BL-10234", "m3"),
        TranscriptEntry(Author.OPERATOR, "Let me check.", "op1"),
    ]
    assert history_messages(entries) == [
        ChatMessage(role="user", content="hi\nmy order"),
        ChatMessage(role="assistant", content="Which one?"),
        ChatMessage(role="user", content="BL-10234"),
        ChatMessage(role="assistant", content="Let me check."),
    ]


def _state(message: str, history: list[ChatMessage], window: Any = None) -> AgentState:
    state: AgentState = {
        "tenant": "demo",
        "customer": ALEX,
        "message": message,
        "history": history,
        "passages": [REFUNDS, SHIPPING],
    }
    if window is not None:
        state["prompt_window"] = window
    return state


def test_each_turn_repeats_the_previous_turns_request(tmp_path: Path) -> None:
    bot = tenants_with(tmp_path).get("demo")
    first = build_prompt(bot, _state("How long does a refund take?", []), TODAY)
    exchange = [ChatMessage(role="assistant", content="(a tool call)", reasoning="hmm")]
    window = first.window_after(exchange)
    history = [
        ChatMessage(role="user", content="How long does a refund take?"),
        ChatMessage(role="assistant", content="5–7 business days [1]."),
    ]
    second = build_prompt(bot, _state("And shipping?", history, window), TODAY)
    previous = [*first.messages, replace(exchange[0], reasoning=None)]
    assert second.messages[: len(previous)] == previous
    assert second.messages[len(previous)] == history[1]
    newest = second.messages[-1].content or ""
    assert newest.startswith("And shipping?") and SHOWN_ABOVE in newest
    without_checkpoint = build_prompt(bot, _state("And shipping?", history), TODAY)
    assert without_checkpoint.messages[1:3] == history  # the words alone


async def test_through_the_graph_the_next_turn_extends_the_last_request(
    tmp_path: Path, demo_shop: RunningShop, llm: ChatClient, model: ScriptedModelServer
) -> None:
    call = ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10234"})
    model.set_script(
        [
            ScriptedResponse(tool_calls=[call]),
            ScriptedResponse(content="It has shipped [1]."),
            ScriptedResponse(content="Refunds take 5–7 business days [1]."),
        ]
    )
    tenants = tenants_with(tmp_path)
    deps = GraphDeps(tenants, Retrieval([REFUNDS, SHIPPING]), demo_shop.tenant_tools(tenants), llm)
    graph = build_graph(deps, InMemorySaver())
    assert "prompt_window" in graph.channels
    config = {"configurable": {"thread_id": KEY}}
    first = await graph.ainvoke(turn_input(KEY, "demo", ALEX, [], "Where is BL-10234?"), config)
    history = [
        ChatMessage(role="user", content="Where is BL-10234?"),
        ChatMessage(role="assistant", content=first["reply"].text),
    ]
    second = await graph.ainvoke(turn_input(KEY, "demo", ALEX, history, "Refund time?"), config)
    assert second["reply"].text.startswith("Refunds take")
    before, after = model.requests[1], model.requests[2]  # turn 1's last, turn 2's first
    assert after["messages"][: len(before["messages"])] == before["messages"]
    assert after["tools"] == before["tools"]
