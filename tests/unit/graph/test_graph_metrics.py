"""A turn paused for approval and resumed: the node and model histograms observe every
step, and the resumed run's metrics count only its own events (its trace starts with
the paused run's, counted when it paused)."""

from langgraph.checkpoint.memory import InMemorySaver
from prometheus_client import REGISTRY

from agent.graph_runs import GraphRunner
from agent.llm.client import ChatClient
from agent.llm.stub import ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.turn_metrics import turn_facts
from tests.unit.graph.conftest import MakeGraph, turn

KEY = "demo:generic:c-1"
REFUND = {"order_id": "BL-10217", "amount": 89.0, "reason": "the casserole is cracked"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_paused_and_resumed_turn_is_counted_once_per_step(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(
                tool_calls=[
                    ScriptedToolCall(name="track_shipment", arguments={"order_id": "BL-10217"})
                ]
            ),
            ScriptedResponse(
                tool_calls=[ScriptedToolCall(name="request_refund", arguments=REFUND)]
            ),
            ScriptedResponse(content="Your refund of €89.00 for BL-10217 is on its way."),
        ]
    )
    runner = GraphRunner(make_graph(llm=llm, checkpointer=InMemorySaver()), timeout_s=30)
    agent_before = sample("deskhand_node_seconds_count", node="agent")
    guard_before = sample("deskhand_node_seconds_count", node="guard")
    model_before = sample("deskhand_model_call_seconds_count", result="ok")

    paused = await runner.run(turn("My casserole arrived cracked, refund please"), KEY, "c")
    assert paused.approval is not None and paused.new_events_from == 0
    resumed = await runner.resume(paused.approval, {"approved": True, "by": "ana"})

    assert sample("deskhand_node_seconds_count", node="agent") == agent_before + 3
    assert sample("deskhand_node_seconds_count", node="guard") == guard_before + 1
    assert sample("deskhand_model_call_seconds_count", result="ok") == model_before + 3
    assert resumed.new_events_from == len(paused.trace)
    own = [event.node for event in resumed.trace[resumed.new_events_from :]]
    assert own == ["approval", "agent", "respond"]
    first = turn_facts(paused, "demo", "generic", 1.0)
    second = turn_facts(resumed, "demo", "generic", None)
    assert first.tool_calls == ("track_shipment",) and first.outcome == "approval"
    assert second.tool_calls == ("request_refund",) and second.automated
    used = [e.detail["prompt_tokens"] for e in resumed.trace if e.node == "agent"]
    assert first.prompt_tokens + second.prompt_tokens == sum(used) > 0
