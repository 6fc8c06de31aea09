"""Every model fault ends the turn with a customer-facing reply or an escalation: never
silence, never leaked markup. The scripted server speaks the real wire protocol."""

import pytest

from agent.llm.client import ChatClient
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from tests.unit.graph.conftest import MakeGraph, turn

LOOKUP = ScriptedToolCall(name="lookup_order", arguments={"order_id": "BL-10234"})
ANSWER = ScriptedResponse(content="Your order BL-10234 has shipped.")
MARKUP = ("<think>", "</think>", "<tool_call>", "</tool_call>", "<function=", "<|im_")

FAULTS = {
    "timeout": [ScriptedResponse(content="late", quirks=Quirks(latency_s=3), repeat=3)],
    "5xx": [ScriptedResponse(quirks=Quirks(status=500), repeat=3)],
    "503 overload": [ScriptedResponse(quirks=Quirks(status=503, retry_after=0), repeat=3)],
    "invalid tool arguments": [
        ScriptedResponse(
            tool_calls=[ScriptedToolCall(name="lookup_order", arguments={"order": 5})], repeat=3
        )
    ],
    "unknown tool name": [
        ScriptedResponse(
            tool_calls=[ScriptedToolCall(name="drop_database", arguments={})], repeat=3
        )
    ],
    "tool-call loop": [ScriptedResponse(tool_calls=[LOOKUP], repeat=10), ANSWER],
    "raw XML tool call": [
        ScriptedResponse(tool_calls=[LOOKUP], quirks=Quirks(xml_tool_calls=True)),
        ANSWER,
    ],
    "think tags": [
        ScriptedResponse(
            content="Your order BL-10234 has shipped.",
            reasoning="the customer wants the status; I must not show this",
            quirks=Quirks(reasoning_as="think_tags"),
        )
    ],
    "empty answer": [ScriptedResponse(content="")],
    "empty tool-call finish": [ScriptedResponse(quirks=Quirks(empty_tool_calls_finish=True))],
    "unclosed think": [ScriptedResponse(content="<think>I will say the order is lost")],
    "tool markup as the answer": [
        ScriptedResponse(content="<tool_call>\n<function=lookup_order>\n</function>\n</tool_call>")
    ],
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_a_fault_ends_in_a_reply_or_an_escalation(
    fault: str, make_graph: MakeGraph, llm: ChatClient, model: ScriptedModelServer
) -> None:
    model.set_script(FAULTS[fault])
    result = await make_graph(llm=llm).ainvoke(turn("Where is my order BL-10234?"))
    reply, escalation = result.get("reply"), result.get("escalation")
    assert reply is not None and reply.text.strip(), fault  # the customer always reads something
    assert not any(mark in reply.text for mark in MARKUP), (fault, reply.text)
    assert "must not show this" not in reply.text
    if escalation is None:  # an answer about the order, or a quote of the help center
        assert "BL-10234" in reply.text or reply.grounded_in_kb or reply.degraded, fault
