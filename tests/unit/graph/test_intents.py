"""Deterministic intents: matching per language, the read-only tool call as the customer,
templated replies, and the degraded path that uses them (the demo shop on a real port)."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from agent.config.botfile import BotConfig
from agent.config.intents import IntentConfig
from agent.config.settings import DEMO_TENANTS_DIR
from agent.errors import ConfigError
from agent.graph.deps import GraphDeps
from agent.graph.intents import (
    IntentMatch,
    check_intent_tools,
    match_intent,
    needs_intent,
    render,
    run_intent,
    tool_arguments,
)
from agent.graph.nodes.degraded import make_degraded
from agent.graph.state import EscalationReason, Priority, TurnState
from agent.llm.client import ChatClient
from agent.llm.stub import ScriptedModelServer, ScriptedResponse
from tests.support.demo_shop import RunningShop
from tests.unit.graph.conftest import ALEX, REFUNDS, MakeGraph, Retrieval, tenants_with, turn
from tools.context import Customer, ToolContext
from tools.registry import SideEffect, Tool, ToolRegistry

ALEX_CONTEXT = ToolContext("demo", "demo:generic:c-1", ALEX)
NOT_FOUND_EN = "I couldn't find an order BL-10240 on your account."


@pytest.fixture
def demo_bot(tmp_path: Path) -> BotConfig:
    return tenants_with(tmp_path).get("demo")


def nodes(result: dict[str, Any]) -> list[str]:
    return [event.node for event in result["trace"]]


def degraded_detail(result: dict[str, Any]) -> dict[str, Any]:
    (event,) = [e for e in result["trace"] if e.node == "degraded"]
    detail: dict[str, Any] = event.detail
    return detail


def matched(text: str, bot: BotConfig, **options: Any) -> IntentMatch:
    found = match_intent(text, bot, **options)
    assert found is not None, text
    return found


# Matching


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where is my order BL-10234?", "en"),
        ("¿Dónde está mi pedido BL-10234?", "es"),
        ("Wo ist meine Bestellung BL-10234?", "de"),
        ("Où est ma commande BL-10234 ?", "fr"),
        ("What's the status of bl10234", "en"),
        ("Quand ma commande #10234 va-t-elle arriver ?", "fr"),
    ],
)
def test_order_status_matches_in_four_languages(
    demo_bot: BotConfig, text: str, language: str
) -> None:
    found = matched(text, demo_bot)
    assert (found.intent.name, found.language) == ("order_status", language)
    assert found.captures == {"order_id": "BL-10234"}  # normalised: digits, then the prefix


@pytest.mark.parametrize(
    "text",
    [
        "Can you track my parcel? Order BL-10245",
        "¿Me das el seguimiento del pedido BL-10245?",
        "Sendungsverfolgung für BL 10245 bitte",
        "Je voudrais suivre mon colis BL-10245",
    ],
)
def test_tracking_matches_in_four_languages(demo_bot: BotConfig, text: str) -> None:
    found = matched(text, demo_bot)
    assert found.intent.name == "shipment_tracking"
    assert found.captures == {"order_id": "BL-10245"}


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order?",  # no order number: nothing to look up
        "I want to cancel my order BL-10251",
        "How long does a refund take?",
    ],
)
def test_no_intent_without_its_cue_and_its_order_number(demo_bot: BotConfig, text: str) -> None:
    assert match_intent(text, demo_bot) is None


def test_the_customers_language_is_tried_first(demo_bot: BotConfig) -> None:
    text = "Status BL-10234"  # a pattern in English and in German
    assert matched(text, demo_bot).language == "en"
    assert matched(text, demo_bot, languages=[None, "de-AT"]).language == "de"


def test_tool_arguments_come_from_the_captures(demo_bot: BotConfig) -> None:
    found = matched("where is my order bl 10234", demo_bot)
    assert tool_arguments(found.intent, found.captures) == {"order_id": "BL-10234"}


def test_intents_are_not_used_while_the_model_is_available(
    tmp_path: Path, demo_bot: BotConfig
) -> None:
    text = "Where is my order BL-10234?"
    assert match_intent(text, demo_bot, model_available=True) is None
    assert not needs_intent(text, demo_bot)
    always = with_intent(tmp_path, hours_intent(when="always"))
    assert matched("What are your opening hours?", always, model_available=True)
    assert needs_intent("What are your opening hours?", always)


def test_phrases_match_without_case_or_accents(tmp_path: Path) -> None:
    bot = with_intent(tmp_path, hours_intent())
    found = matched("  quelles sont vos HEURES D'OUVERTURE ?", bot)
    assert found.language == "fr"
    assert found.captures == {}


# Running: the demo shop's tools, as the verified customer


async def test_order_status_reply_is_filled_from_the_tools_answer(
    demo_bot: BotConfig, demo_shop: RunningShop
) -> None:
    found = matched("Where is my order BL-10234?", demo_bot)
    outcome = await run_intent(found, demo_shop.registry(), ALEX_CONTEXT)
    assert outcome.text == (
        "Your order BL-10234 is on its way. Expected delivery: 2026-12-01. "
        "Track the parcel here: https://track.brightleaf.example/BL-10234"
    )
    assert outcome.escalation is None
    assert outcome.detail == {
        "intent": "order_status",
        "language": "en",
        "outcome": "answered",
        "tool": "lookup_order",
        "arguments": {"order_id": "BL-10234"},
        "ok": True,
    }


async def test_the_first_template_whose_fields_exist_is_used(
    demo_bot: BotConfig, demo_shop: RunningShop
) -> None:
    delivered = await run_intent(
        matched("Wo ist meine Bestellung BL-10217?", demo_bot), demo_shop.registry(), ALEX_CONTEXT
    )
    assert delivered.text == "Ihre Bestellung BL-10217 wurde am 2026-11-04 zugestellt."
    received = await run_intent(
        matched("¿Dónde está mi pedido BL-10251?", demo_bot), demo_shop.registry(), ALEX_CONTEXT
    )
    assert received.text == (
        "Estado de tu pedido BL-10251: confirmado. Entrega prevista: 2026-12-06."
    )


async def test_tracking_reply_in_french(demo_bot: BotConfig, demo_shop: RunningShop) -> None:
    found = matched("Suivi du colis BL-10234 svp", demo_bot)
    outcome = await run_intent(found, demo_shop.registry(), ALEX_CONTEXT)
    assert outcome.text == (
        "Le colis de votre commande BL-10234 est en transit avec PostNL (numéro de suivi "
        "3SBLF0010234). Livraison prévue : 2026-12-01. Suivi : "
        "https://track.brightleaf.example/BL-10234"
    )


async def test_another_customers_order_is_politely_not_found(
    demo_bot: BotConfig, demo_shop: RunningShop
) -> None:
    # BL-10240 is Sam's: for Alex the shop answers "not found", as for no order at all.
    found = matched("Where is my order BL-10240?", demo_bot)
    outcome = await run_intent(found, demo_shop.registry(), ALEX_CONTEXT)
    missing = await run_intent(
        matched("Where is my order BL-99999?", demo_bot), demo_shop.registry(), ALEX_CONTEXT
    )
    assert outcome.outcome == "not_found" and outcome.escalation is None
    assert outcome.text is not None and outcome.text.startswith(NOT_FOUND_EN)
    assert missing.text == outcome.text.replace("BL-10240", "BL-99999")  # the same words
    for private in ("processing", "sam", "Sam", "2026-12-05", "Utrecht", "being prepared"):
        assert private not in outcome.text


async def test_without_a_known_customer_nothing_is_found(
    demo_bot: BotConfig, demo_shop: RunningShop
) -> None:
    found = matched("Where is my order BL-10234?", demo_bot)
    anonymous = ToolContext("demo", "demo:generic:c-1", Customer("cust_x"))
    outcome = await run_intent(found, demo_shop.registry(), anonymous)
    assert outcome.outcome == "not_found"
    assert outcome.text is not None and "shipped" not in outcome.text


async def test_tracking_an_order_not_shipped_yet_gets_the_refused_answer(
    demo_bot: BotConfig, demo_shop: RunningShop
) -> None:
    found = matched("Track my parcel BL-10251", demo_bot)
    outcome = await run_intent(found, demo_shop.registry(), ALEX_CONTEXT)
    assert outcome.outcome == "refused"
    assert outcome.text is not None and outcome.text.startswith(
        "Your order BL-10251 hasn't shipped yet"
    )


class OrderArgs(BaseModel):
    order_id: str


def registry_of(handler: Any, side_effect: SideEffect = SideEffect.READ) -> ToolRegistry:
    return ToolRegistry([Tool("lookup_order", "Orders.", OrderArgs, handler, side_effect)])


async def test_a_failing_tool_escalates(demo_bot: BotConfig) -> None:
    def broken(args: OrderArgs, context: ToolContext) -> None:
        raise ConnectionError("orders API down")

    found = matched("Where is my order BL-10234?", demo_bot)
    outcome = await run_intent(found, registry_of(broken), ALEX_CONTEXT)
    assert outcome.text is None and outcome.tool_failed
    assert outcome.escalation is not None and "lookup_order" in outcome.escalation
    assert outcome.detail["outcome"] == "escalated"


async def test_an_answer_no_template_covers_escalates(demo_bot: BotConfig) -> None:
    found = matched("Where is my order BL-10234?", demo_bot)
    outcome = await run_intent(found, registry_of(lambda a, c: {"total": 12}), ALEX_CONTEXT)
    assert outcome.text is None and not outcome.tool_failed
    assert outcome.escalation is not None and "no reply template" in outcome.escalation


async def test_a_tool_that_is_not_read_only_is_never_called(demo_bot: BotConfig) -> None:
    calls: list[str] = []

    def cancel(args: OrderArgs, context: ToolContext) -> dict[str, str]:
        calls.append(args.order_id)
        return {"id": args.order_id, "status": "cancelled"}

    found = matched("Where is my order BL-10234?", demo_bot)
    outcome = await run_intent(found, registry_of(cancel, SideEffect.WRITE), ALEX_CONTEXT)
    assert calls == []
    assert outcome.escalation is not None and "not read-only" in outcome.escalation


def test_start_up_check_of_the_intents_tools(demo_bot: BotConfig, demo_shop: RunningShop) -> None:
    check_intent_tools(demo_bot, demo_shop.registry(), "demo.yaml")
    with pytest.raises(ConfigError, match=r"intents\.0\.tool: .*'track_shipment' is not enabled"):
        check_intent_tools(demo_bot, registry_of(lambda a, c: {}), "demo.yaml")


# Templates


def test_render_paths_lists_labels_and_missing_fields() -> None:
    result = {
        "id": "BL-1",
        "total": 73.5,
        "items": [{"name": "Lamp"}, {"name": "Mug"}],
        "events": [{"location": "Rotterdam"}, {"location": "Utrecht"}],
        "address": {"city": "Amsterdam"},
        "status": "shipped",
    }
    template = (
        "{{x}} {id}: {items[*].name}; {events[-1].location}, {address.city}, {total} {status}"
    )
    labels = {"status": {"shipped": "on its way"}}
    assert render(template, {}, result, labels) == (
        "{x} BL-1: Lamp, Mug; Utrecht, Amsterdam, 73.50 on its way"
    )
    assert render("{delivered_at}", {}, result) is None
    assert render("{events[5].location}", {}, result) is None
    assert render("{address}", {}, result) is None  # a mapping is not text
    assert render("{order_id}", {"order_id": "BL-2"}, result) == "BL-2"


# The degraded path


async def test_without_a_model_an_order_question_is_answered_by_its_intent(
    make_graph: MakeGraph,
) -> None:
    result = await make_graph(llm=None).ainvoke(turn("Where is my order BL-10234?"))
    reply = result["reply"]
    assert reply.degraded and not reply.grounded_in_kb and reply.citations == ()
    assert reply.text.startswith("Your order BL-10234 is on its way.")
    assert result.get("escalation") is None
    assert nodes(result)[-1] == "degraded"
    detail = degraded_detail(result)
    assert detail["intent"] == "order_status" and detail["tool"] == "lookup_order"
    assert detail["reason"] == "no model endpoint is configured"


async def test_without_a_model_another_customers_order_is_not_found(
    make_graph: MakeGraph,
) -> None:
    result = await make_graph(llm=None).ainvoke(turn("Where is my order BL-10240?"))
    assert result["reply"].text.startswith(NOT_FOUND_EN)
    assert result.get("escalation") is None
    assert degraded_detail(result)["outcome"] == "not_found"


async def test_without_a_model_a_failing_intent_tool_escalates(make_graph: MakeGraph) -> None:
    def broken(args: OrderArgs, context: ToolContext) -> None:
        raise ConnectionError("orders API down")

    graph = make_graph(llm=None, tools=registry_of(broken))
    result = await graph.ainvoke(turn("Where is my order BL-10234?"))
    escalation = result["escalation"]
    assert (escalation.reason, escalation.priority) == (
        EscalationReason.TOOL_FAILURE,
        Priority.HIGH,
    )
    assert nodes(result)[-2:] == ["degraded", "escalate"]


async def test_without_a_matching_intent_the_article_is_quoted(make_graph: MakeGraph) -> None:
    result = await make_graph(llm=None).ainvoke(turn("How long does a refund take?"))
    assert result["reply"].citations[0]["source"] == "refunds.md"
    assert "intent" not in degraded_detail(result)


async def test_with_the_model_an_order_question_goes_to_the_model(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="It has shipped.")])
    result = await make_graph(llm=llm).ainvoke(turn("Where is my order BL-10234?"))
    assert result["reply"].text == "It has shipped."
    assert "degraded" not in nodes(result)
    assert len(model.requests) == 1


async def test_the_degraded_node_uses_only_always_intents_while_the_model_is_up(
    tmp_path: Path, llm: ChatClient, demo_shop: RunningShop
) -> None:
    tenants = tenants_with(tmp_path, intents=[hours_intent(when="always"), *demo_intents()])
    deps = GraphDeps(tenants, Retrieval([REFUNDS]), demo_shop.tenant_tools(tenants), llm)
    node = make_degraded(deps)
    hours = await node(node_state("What are your opening hours?"))
    assert hours["reply"].text == "We answer Monday to Friday, 09:00–18:00 CET."
    assert hours["trace"][0].detail["reason"] == "a deterministic intent answers this message"
    order = await node(node_state("Where is my order BL-10234?"))  # without_model: not used
    assert "intent" not in order["trace"][0].detail
    failed = await node(node_state("Where is my order BL-10234?", "the model timed out"))
    assert failed["trace"][0].detail["intent"] == "order_status"


# Helpers


def hours_intent(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "opening_hours",
        "phrases": {"en": ["opening hours"], "fr": ["heures d'ouverture"]},
        "reply": {
            "en": "We answer Monday to Friday, 09:00–18:00 CET.",
            "fr": "Nous répondons du lundi au vendredi, de 9 h à 18 h (CET).",
        },
    }
    return {**data, **overrides}


def demo_intents() -> list[dict[str, Any]]:
    data = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    intents: list[dict[str, Any]] = data["intents"]
    return intents


def with_intent(tmp_path: Path, *intents: dict[str, Any]) -> BotConfig:
    bot = tenants_with(tmp_path, intents=list(intents)).get("demo")
    assert all(isinstance(i, IntentConfig) for i in bot.intents)
    return bot


def node_state(message: str, degraded_reason: str = "") -> TurnState:
    state = turn(message)
    state.update({"passages": [], "retrieval_confidence": 0.0, "degraded_reason": degraded_reason})
    return state
