"""The turn graph's paths, against the scripted model server over real HTTP."""

import json

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel

from agent.graph.state import EscalationReason, Priority
from agent.llm.client import ChatClient
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.llm.types import ChatMessage
from tests.support.demo_shop import RunningShop
from tests.unit.graph.conftest import REFUNDS, MakeGraph, turn
from tools.context import ToolContext
from tools.registry import Tool, ToolRegistry

THREAD = {"configurable": {"thread_id": "demo:generic:c-1"}}


def nodes(result: dict) -> list[str]:
    return [event.node for event in result["trace"]]


async def test_tool_call_then_the_models_words(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[
                    ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10234"})
                ]
            ),
            ScriptedResponse(content="Your order BL-10234 has shipped and arrives by 1 December."),
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("Where is my order BL-10234?"))

    assert result["reply"].text == "Your order BL-10234 has shipped and arrives by 1 December."
    assert nodes(result) == [
        "guard",
        "understand",
        "retrieve",
        "agent",
        "tools",
        "agent",
        "respond",
    ]
    first, second = model.requests
    assert first["chat_template_kwargs"] == {"enable_thinking": False}
    assert [t["function"]["name"] for t in first["tools"]] == [
        "lookup_order",
        "list_my_orders",
        "track_shipment",
        "request_refund",
        "cancel_order",
        "update_address",
        "list_my_tickets",
        "create_ticket",
        "escalate_to_human",
    ]
    assert "email" not in json.dumps(first["tools"])  # the customer is not the model's to pick
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert json.loads(tool_message["content"])["result"]["status"] == "shipped"
    assert second["messages"][-2]["tool_calls"][0]["function"]["arguments"] == (
        '{"order_id": "BL-10234"}'
    )


async def test_tools_act_for_the_verified_customer_only(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    # BL-10240 belongs to another customer: the model may ask, the tool says not found.
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[
                    ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10240"})
                ]
            ),
            ScriptedResponse(content="I couldn't find that order on your account."),
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("Status of BL-10240?"))
    tool_result = json.loads(model.requests[1]["messages"][-1]["content"])
    assert tool_result["ok"] is False
    assert "sam@example.com" not in json.dumps(model.requests[1])
    assert result["reply"].text == "I couldn't find that order on your account."


async def test_xml_tool_call_in_content_is_executed(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="lookup_order", arguments={"order_id": "10217"})],
                quirks=Quirks(xml_tool_calls=True),
            ),
            ScriptedResponse(content="It was delivered on 4 November."),
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("Was 10217 delivered?"))
    assert result["reply"].text == "It was delivered on 4 November."
    assert json.loads(model.requests[1]["messages"][-1]["content"])["result"]["id"] == "BL-10217"


async def test_passages_go_last_and_are_cited(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days [1].")])
    result = await make_graph(llm=llm).ainvoke(turn("How long does a refund take?"))
    last = model.requests[0]["messages"][-1]
    assert last["role"] == "user"
    assert last["content"].startswith("How long does a refund take?")
    assert "<knowledge>" in last["content"] and REFUNDS.text in last["content"]
    assert result["reply"].citations == (
        {"title": "Refunds", "source": "refunds.md", "url": REFUNDS.url},
    )
    assert result["reply"].grounded_in_kb


async def test_system_prompt_is_identical_across_conversations(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="One."), ScriptedResponse(content="Two.")])
    graph = make_graph(llm=llm)
    await graph.ainvoke(turn("First question"))
    history = [
        ChatMessage(role="user", content="hi"),
        ChatMessage(role="assistant", content="hello"),
    ]
    await graph.ainvoke(turn("Second question", history))
    first, second = model.requests
    assert graph.retrieval.queries[1] == ("Second question", history)
    assert first["messages"][0] == second["messages"][0]
    assert first["tools"] == second["tools"]
    assert [m["content"] for m in second["messages"][1:3]] == ["hi", "hello"]


async def test_reasoning_never_reaches_the_customer(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(
                content="Refunds take 5–7 business days.",
                reasoning="The customer seems annoyed; internal note.",
                quirks=Quirks(reasoning_as="think_tags"),
            )
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("refund time?"))
    assert result["reply"].text == "Refunds take 5–7 business days."
    agent_event = next(e for e in result["trace"] if e.node == "agent")
    assert agent_event.detail["reasoning"] == "The customer seems annoyed; internal note."


async def test_asking_for_a_human_escalates_without_the_model(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    graph = make_graph(llm=llm)
    result = await graph.ainvoke(turn("Ich möchte mit einem Menschen sprechen, bitte"))
    assert result["escalation"].reason is EscalationReason.CUSTOMER_REQUEST
    assert "Brightleaf-Team" in result["reply"].text  # in the customer's language
    assert "Customer wants:" in result["escalation"].summary
    assert nodes(result) == ["guard", "understand", "escalate"]
    assert model.requests == []
    assert graph.retrieval.queries == []


async def test_unreachable_model_quotes_a_confident_article(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(quirks=Quirks(status=503))] * 2)
    result = await make_graph(llm=llm).ainvoke(turn("How long does a refund take?"))
    reply = result["reply"]
    assert reply.degraded and reply.grounded_in_kb
    assert "> Refunds go back to the original payment method" in reply.text
    assert REFUNDS.url in reply.text
    assert result["escalation"] is None
    assert "ModelUnavailable" in result["degraded_reason"]


async def test_unreachable_model_and_weak_passages_escalate(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(quirks=Quirks(status=503))] * 2)
    graph = make_graph(llm=llm, retrieval__min_score=0.9)
    result = await graph.ainvoke(turn("Can I pay with goats?"))
    assert result["escalation"].reason is EscalationReason.MODEL_UNAVAILABLE
    assert nodes(result)[-2:] == ["degraded", "escalate"]
    assert "Suggested next step" in result["escalation"].summary


async def test_without_a_model_the_graph_goes_straight_to_degraded(make_graph: MakeGraph) -> None:
    result = await make_graph(llm=None).ainvoke(turn("How long does a refund take?"))
    assert nodes(result) == ["guard", "understand", "retrieve", "degraded"]
    assert result["reply"].citations[0]["source"] == "refunds.md"


async def test_nothing_retrieved_and_no_model_escalates(make_graph: MakeGraph) -> None:
    result = await make_graph(llm=None, passages=[]).ainvoke(turn("Hello?"))
    assert result["escalation"].reason is EscalationReason.MODEL_UNAVAILABLE
    assert "Tried: nothing yet" in result["escalation"].summary


async def test_corrective_reprompt_then_valid_call(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="lookup_order", arguments={"order": "10234"})]
            ),
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="lookup_order", arguments={"order_id": "10234"})]
            ),
            ScriptedResponse(content="It has shipped."),
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("where is 10234"))
    assert result["reply"].text == "It has shipped."
    assert "order_id" in model.requests[1]["messages"][-1]["content"]
    agent_events = [e for e in result["trace"] if e.node == "agent"]
    assert agent_events[0].detail["corrective_reprompt"] is True


async def test_tool_call_budget_forces_an_answer(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    call = ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10234"})
    model.set_script(
        [ScriptedResponse(tool_calls=[call]), ScriptedResponse(content="It has shipped.")]
    )
    result = await make_graph(llm=llm, model__max_tool_calls=1).ainvoke(turn("order 10234?"))
    assert "tools" in model.requests[0]
    assert "tools" not in model.requests[1]
    assert result["reply"].text == "It has shipped."


class NoArgs(BaseModel):
    pass


async def test_failing_tool_escalates_with_high_priority(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    def broken(args: NoArgs, context: ToolContext) -> None:
        raise ConnectionError("orders API down")

    tools = ToolRegistry([Tool("lookup_order", "always fails", NoArgs, broken)])
    model.set_script(
        [ScriptedResponse(tool_calls=[ScriptedToolCall(name="lookup_order", arguments={})])]
    )
    result = await make_graph(llm=llm, tools=tools).ainvoke(turn("order?"))
    escalation = result["escalation"]
    assert (escalation.reason, escalation.priority) == (
        EscalationReason.TOOL_FAILURE,
        Priority.HIGH,
    )
    assert "lookup_order()" in escalation.summary


async def test_empty_answer_takes_the_degraded_path(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="   ")])
    result = await make_graph(llm=llm).ainvoke(turn("How long does a refund take?"))
    assert result["reply"].degraded
    assert result["degraded_reason"] == "the model returned an empty answer"


def _refund_script(model: ScriptedModelServer, refund: dict[str, object]) -> None:
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[
                    ScriptedToolCall(name="track_shipment", arguments={"order_id": "BL-10217"})
                ]
            ),
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="request_refund", arguments=refund)]
            ),
            ScriptedResponse(content="Your refund of €89.00 for BL-10217 is on its way."),
        ]
    )


async def test_a_refund_above_the_threshold_pauses_for_approval(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer, demo_shop: RunningShop
) -> None:
    refund = {"order_id": "BL-10217", "amount": 89.0, "reason": "the casserole is cracked"}
    _refund_script(model, refund)
    before = demo_shop.shop.snapshot()
    graph = make_graph(llm=llm, checkpointer=InMemorySaver())
    result = await graph.ainvoke(turn("My casserole arrived cracked, refund please"), THREAD)

    (paused,) = result["__interrupt__"]
    assert paused.value["tool"] == "request_refund"
    assert paused.value["arguments"] == refund
    assert "refund_threshold_eur" in paused.value["reason"]
    assert result.get("escalation") is None and result.get("reply") is None
    assert nodes(result) == ["guard", "understand", "retrieve", "agent", "tools", "agent", "tools"]
    tracked = json.loads(model.requests[1]["messages"][-1]["content"])
    assert tracked["result"]["status"] == "delivered"
    assert demo_shop.shop.snapshot() == before  # the refund was not made


async def test_an_approved_refund_runs_once_and_the_model_confirms(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer, demo_shop: RunningShop
) -> None:
    refund = {"order_id": "BL-10217", "amount": 89.0, "reason": "the casserole is cracked"}
    _refund_script(model, refund)
    saver = InMemorySaver()
    graph = make_graph(llm=llm, checkpointer=saver)
    await graph.ainvoke(turn("My casserole arrived cracked, refund please"), THREAD)
    paused = (await graph.aget_state(THREAD)).config
    decision = {"approved": True, "by": "ana", "note": None}
    result = await graph.ainvoke(Command(resume=decision), paused)
    assert result["reply"].text == "Your refund of €89.00 for BL-10217 is on its way."
    assert nodes(result)[-3:] == ["approval", "agent", "respond"]
    # A worker that crashed after the refund resumes the same pause again: no second refund.
    model.set_script([ScriptedResponse(content="Your refund is on its way.")])
    await graph.ainvoke(Command(resume=decision), paused)
    refunds = json.loads(demo_shop.shop.snapshot())["refunds"]
    assert [r["order_id"] for r in refunds].count("BL-10217") == 1


async def test_a_denied_refund_is_declined_politely(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer, demo_shop: RunningShop
) -> None:
    refund = {"order_id": "BL-10217", "amount": 89.0, "reason": "the casserole is cracked"}
    _refund_script(model, refund)
    before = demo_shop.shop.snapshot()
    graph = make_graph(llm=llm, checkpointer=InMemorySaver())
    await graph.ainvoke(turn("My casserole arrived cracked, refund please"), THREAD)
    paused = (await graph.aget_state(THREAD)).config
    result = await graph.ainvoke(Command(resume={"approved": False, "by": "ana"}), paused)
    assert "couldn't approve" in result["reply"].text
    assert nodes(result)[-1] == "approval"
    assert demo_shop.shop.snapshot() == before


async def test_a_refund_within_the_threshold_is_made(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer, demo_shop: RunningShop
) -> None:
    refund = {"order_id": "BL-10217", "amount": 20, "reason": "the lid is chipped"}
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="request_refund", arguments=refund)]
            ),
            ScriptedResponse(content="I've requested a refund of €20.00."),
        ]
    )
    result = await make_graph(llm=llm).ainvoke(turn("The lid is chipped"))
    assert result["escalation"] is None
    assert json.loads(model.requests[1]["messages"][-1]["content"])["result"]["status"] == (
        "requested"
    )
    refunds = json.loads(demo_shop.shop.snapshot())["refunds"]
    assert {"order_id": "BL-10217", "amount": 20.0} in [
        {"order_id": r["order_id"], "amount": r["amount"]} for r in refunds
    ]
