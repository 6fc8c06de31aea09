"""The agent node sends the conversation as routing key (sticky routing to a vLLM replica)."""

from agent.llm.client import ChatClient
from agent.llm.routing import routing_value
from agent.llm.stub import ScriptedModelServer, ScriptedResponse
from tests.unit.graph.conftest import MakeGraph, turn


async def test_model_requests_carry_the_conversations_routing_key(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days.")])
    result = await make_graph(llm=llm).ainvoke(turn("How long does a refund take?"))

    assert result["reply"].text == "Refunds take 5–7 business days."
    chats = [r for r in model.recorded if r.path == "/v1/chat/completions"]
    assert chats, "the agent node called the model"
    assert {r.headers.get("x-session-id") for r in chats} == {routing_value("demo:generic:c-1")}


async def test_the_tenants_adapter_is_the_model_name(
    make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    """A bot file's ``model: {name: demo-lora}`` asks vLLM for that LoRA adapter by name."""
    model.set_script([ScriptedResponse(content="Refunds take 5–7 business days.")])
    await make_graph(llm=llm, model__name="demo-lora").ainvoke(turn("How long is a refund?"))

    assert {body["model"] for body in model.requests} == {"demo-lora"}
