"""Tool-call validation and the corrective re-prompt, with a fake client (no HTTP)."""

from collections.abc import Sequence
from typing import Any

import pytest

from agent.llm.errors import ToolArgumentsInvalid
from agent.llm.schema_check import schema_errors
from agent.llm.stream import StreamAssembler
from agent.llm.tooling import chat_with_valid_tool_calls, json_schema_validator
from agent.llm.types import (
    RAW_ARGUMENTS_KEY,
    ChatMessage,
    ChatOptions,
    ChatResult,
    ToolCall,
    ToolSpec,
)

REFUND = ToolSpec(
    name="refund",
    description="Refund an order.",
    parameters={
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "amount": {"type": "number"},
            "items": {"type": "array", "items": {"type": "integer"}},
            "reason": {"type": "string", "enum": ["damaged", "late"]},
            "notify": {"type": "boolean"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "address": {"$ref": "#/$defs/Address"},
        },
        "required": ["order_id", "amount"],
        "additionalProperties": False,
        "$defs": {
            "Address": {
                "type": "object",
                "properties": {"zip": {"type": "string"}},
                "required": ["zip"],
            }
        },
    },
)
validate = json_schema_validator([REFUND])


def call(arguments: dict[str, Any], name: str = "refund") -> ToolCall:
    return ToolCall(id="call_1", name=name, arguments=arguments)


def test_valid_arguments_pass() -> None:
    arguments = {
        "order_id": "A-1",
        "amount": 12,
        "items": [1, 2],
        "reason": "late",
        "notify": False,
        "note": None,
        "address": {"zip": "10115"},
    }
    assert validate(call(arguments)) is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"amount": 1}, "missing required argument 'order_id'"),
        ({"order_id": 5, "amount": 1}, "argument 'order_id' must be a string, got integer 5"),
        ({"order_id": "A", "amount": "ten"}, "argument 'amount' must be a number"),
        ({"order_id": "A", "amount": True}, "argument 'amount' must be a number, got boolean"),
        (
            {"order_id": "A", "amount": 1, "items": [1, "x"]},
            "argument 'items[1]' must be an integer",
        ),
        ({"order_id": "A", "amount": 1, "reason": "bored"}, "must be one of ['damaged', 'late']"),
        ({"order_id": "A", "amount": 1, "notify": "yes"}, "argument 'notify' must be a boolean"),
        ({"order_id": "A", "amount": 1, "note": 3}, "argument 'note' must be a string"),
        ({"order_id": "A", "amount": 1, "address": {}}, "missing required argument 'address.zip'"),
        ({"order_id": "A", "amount": 1, "extra": 1}, "unexpected argument 'extra'"),
        ({RAW_ARGUMENTS_KEY: "{oops"}, "not a valid JSON object: '{oops'"),
    ],
)
def test_invalid_arguments_are_explained(arguments: dict[str, Any], message: str) -> None:
    error = validate(call(arguments))
    assert error is not None and message in error


def test_unknown_tool_is_named() -> None:
    error = validate(call({}, name="refnud"))
    assert error == "there is no tool named 'refnud'; the tools are: refund"


def test_integer_accepts_integral_floats_only() -> None:
    schema = {"type": "integer"}
    assert schema_errors(3.0, schema) == []
    assert schema_errors(3.5, schema) == ["the arguments must be an integer, got number 3.5"]


class FakeClient:
    """Answers with the given results in order and keeps the messages it was sent."""

    def __init__(self, *results: ChatResult) -> None:
        self.results = list(results)
        self.sent: list[list[ChatMessage]] = []

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions = ChatOptions(),  # noqa: B008
    ) -> ChatResult:
        self.sent.append(list(messages))
        return self.results.pop(0)


async def test_valid_first_answer_needs_no_reprompt() -> None:
    good = ChatResult(content="", tool_calls=(call({"order_id": "A", "amount": 1}),))
    client = FakeClient(good)
    result, extra = await chat_with_valid_tool_calls(client, [], [REFUND], validate)
    assert result is good
    assert extra == []
    assert len(client.sent) == 1


async def test_every_call_of_a_mixed_batch_gets_a_tool_answer() -> None:
    valid = ToolCall(id="call_ok", name="refund", arguments={"order_id": "A", "amount": 1})
    invalid = ToolCall(id="call_bad", name="refund", arguments={"order_id": "B"})
    fixed = ToolCall(id="call_new", name="refund", arguments={"order_id": "B", "amount": 2})
    client = FakeClient(
        ChatResult(content="", tool_calls=(valid, invalid)),
        ChatResult(content="", tool_calls=(valid, fixed)),
    )
    user = ChatMessage(role="user", content="refund both")
    result, extra = await chat_with_valid_tool_calls(client, [user], [REFUND], validate)
    assert result.tool_calls == (valid, fixed)
    assert [(m.role, m.tool_call_id) for m in extra] == [
        ("assistant", None),
        ("tool", "call_ok"),
        ("tool", "call_bad"),
    ]
    assert "Not run" in (extra[1].content or "")
    assert "missing required argument 'amount'" in (extra[2].content or "")
    assert client.sent[1] == [user, *extra]


async def test_still_invalid_raises_with_the_errors_by_call_id() -> None:
    bad = ChatResult(content="", tool_calls=(call({"order_id": "A"}),))
    with pytest.raises(ToolArgumentsInvalid, match="refund: missing required") as caught:
        await chat_with_valid_tool_calls(FakeClient(bad, bad), [], [REFUND], validate)
    assert list(caught.value.errors) == ["call_1"]


def test_stream_assembler_joins_fragmented_and_repeated_names() -> None:
    assembler = StreamAssembler()
    deltas = [
        {"index": 0, "id": "call_a", "function": {"name": "ref", "arguments": ""}},
        {"index": 0, "function": {"name": "und", "arguments": '{"order_id"'}},
        {"index": 0, "function": {"arguments": ': "A", "amount": 1}'}},
        {"index": 1, "id": "call_b", "function": {"name": "refund", "arguments": "{}"}},
        {"index": 1, "function": {"name": "refund"}},
    ]
    for delta in deltas:
        assembler.feed({"choices": [{"delta": {"tool_calls": [delta]}}]})
    assembler.feed({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]})
    calls = assembler.completion().tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_a", "refund", {"order_id": "A", "amount": 1}),
        ("call_b", "refund", {}),
    ]
    assert assembler.complete
