"""Recovering Qwen3.5 tool calls and thinking left as markup in the text."""

import itertools

import pytest

from agent.llm.qwen import (
    arguments_from_wire,
    parse_xml_tool_calls,
    strip_reasoning_markup,
    strip_tool_markup,
)
from agent.llm.types import RAW_ARGUMENTS_KEY, ToolSpec

ORDER_TOOL = ToolSpec(
    name="get_order",
    description="Look up an order",
    parameters={
        "type": "object",
        "properties": {
            "order_id": {"type": "string"},
            "include_items": {"type": "boolean"},
            "limit": {"type": "integer"},
        },
        "required": ["order_id"],
    },
)


def test_single_xml_call_is_recovered_and_removed_from_text() -> None:
    text = (
        "Let me check that order.\n\n"
        "<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1001\n</parameter>\n"
        "</function>\n</tool_call>"
    )
    calls, rest = parse_xml_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [("get_order", {"order_id": "A-1001"})]
    assert rest == "Let me check that order."
    assert calls[0].id.startswith("call_") and len(calls[0].id) > len("call_")


def test_several_calls_keep_their_order_and_get_distinct_ids() -> None:
    text = (
        "<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n</function>\n</tool_call>\n"
        "<tool_call>\n<function=b>\n<parameter=y>\nhello\n</parameter>\n</function>\n</tool_call>"
    )
    calls, rest = parse_xml_tool_calls(text)
    assert [c.name for c in calls] == ["a", "b"]
    assert calls[0].arguments == {"x": 1}
    assert calls[1].arguments == {"y": "hello"}
    assert calls[0].id != calls[1].id
    assert rest == ""


def test_json_values_are_decoded_and_other_values_stay_stripped_strings() -> None:
    text = (
        "<tool_call>\n<function=f>\n"
        "<parameter=n>\n42\n</parameter>\n<parameter=ratio>\n0.5\n</parameter>\n"
        '<parameter=flag>\ntrue\n</parameter>\n<parameter=obj>\n{"k": [1, 2]}\n</parameter>\n'
        '<parameter=items>\n["a", "b"]\n</parameter>\n<parameter=none>\nnull\n</parameter>\n'
        '<parameter=text>\n  two words  \n</parameter>\n<parameter=quoted>\n"q"\n</parameter>\n'
        "</function>\n</tool_call>"
    )
    [call], _ = parse_xml_tool_calls(text)
    assert call.arguments == {
        "n": 42,
        "ratio": 0.5,
        "flag": True,
        "obj": {"k": [1, 2]},
        "items": ["a", "b"],
        "none": None,
        "text": "two words",
        "quoted": '"q"',
    }


def test_schema_types_decide_when_tools_are_given() -> None:
    text = (
        "<tool_call>\n<function=get_order>\n<parameter=order_id>\n12345\n</parameter>\n"
        "<parameter=include_items>\nTrue\n</parameter>\n<parameter=limit>\n3\n</parameter>\n"
        "</function>\n</tool_call>"
    )
    [untyped], _ = parse_xml_tool_calls(text)
    [typed], _ = parse_xml_tool_calls(text, [ORDER_TOOL])
    assert untyped.arguments["order_id"] == 12345
    assert typed.arguments == {"order_id": "12345", "include_items": True, "limit": 3}


def test_multiline_string_values_are_kept() -> None:
    text = (
        "<tool_call>\n<function=reply>\n<parameter=body>\nLine one\nLine two\n</parameter>\n"
        "</function>\n</tool_call>"
    )
    [call], _ = parse_xml_tool_calls(text)
    assert call.arguments == {"body": "Line one\nLine two"}


@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1\n</parameter>\n</function>\n",
        "<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1\n</parameter>\n",
        "<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1\n",
        "<function=get_order>\n<parameter=order_id>\nA-1\n</parameter>\n</function>",
    ],
    ids=["no-tool_call-close", "no-function-close", "no-parameter-close", "no-tool_call-tags"],
)
def test_truncated_or_unwrapped_markup_is_tolerated(text: str) -> None:
    calls, rest = parse_xml_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [("get_order", {"order_id": "A-1"})]
    assert "<" not in rest


def test_unclosed_call_followed_by_another_call() -> None:
    text = (
        "<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n</function>\n"
        "<tool_call>\n<function=b>\n</function>\n</tool_call>"
    )
    calls, _ = parse_xml_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [("a", {"x": 1}), ("b", {})]


def test_hermes_json_form_is_accepted() -> None:
    text = (
        'Sure.\n<tool_call>\n{"name": "get_order", "arguments": {"order_id": "A-7"}}\n</tool_call>'
    )
    [call], rest = parse_xml_tool_calls(text)
    assert (call.name, call.arguments) == ("get_order", {"order_id": "A-7"})
    assert rest == "Sure."


def test_hermes_arguments_given_as_a_json_string_are_decoded() -> None:
    text = '<tool_call>{"name": "f", "arguments": "{\\"a\\": 1}"}</tool_call>'
    [call], _ = parse_xml_tool_calls(text)
    assert call.arguments == {"a": 1}


def test_unreadable_hermes_call_keeps_name_and_raw_text_for_the_validator() -> None:
    text = '<tool_call>{"name": "get_order", "arguments": {"order_id": "A-7"</tool_call>'
    [call], rest = parse_xml_tool_calls(text)
    assert call.name == "get_order"
    assert call.raw_arguments is not None and "A-7" in call.raw_arguments
    assert rest == ""


def test_text_without_markup_is_returned_unchanged() -> None:
    text = "  Your order shipped yesterday.\n"
    assert parse_xml_tool_calls(text) == ([], text)


def test_injected_id_factory_is_used() -> None:
    counter = itertools.count(1)
    text = "<tool_call><function=a></function></tool_call><tool_call><function=b></function>"
    calls, _ = parse_xml_tool_calls(text, new_id=lambda: f"call_{next(counter)}")
    assert [c.id for c in calls] == ["call_1", "call_2"]


def test_strip_tool_markup_removes_leftover_tags() -> None:
    assert strip_tool_markup("Done.</parameter>\n</function>") == "Done."
    assert strip_tool_markup("Plain <b>html</b> stays") == "Plain <b>html</b> stays"


def test_think_block_is_extracted() -> None:
    content, reasoning = strip_reasoning_markup(
        "<think>\nThe customer wants a refund.\n</think>\n\nI can help with that."
    )
    assert content == "I can help with that."
    assert reasoning == "The customer wants a refund."


def test_dangling_think_close_takes_everything_before_it() -> None:
    content, reasoning = strip_reasoning_markup("Check the policy first.\n</think>\n\nHello!")
    assert (content, reasoning) == ("Hello!", "Check the policy first.")


def test_empty_think_block_yields_no_reasoning() -> None:
    assert strip_reasoning_markup("<think>\n\n</think>\n\nHi") == ("Hi", None)


def test_unclosed_think_swallows_the_rest() -> None:
    assert strip_reasoning_markup("<think>still thinking when cut off") == (
        "",
        "still thinking when cut off",
    )


def test_text_without_think_markup_is_unchanged() -> None:
    assert strip_reasoning_markup("  hi  ") == ("  hi  ", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ({"a": 1}, {"a": 1}),
        ("", {}),
        (None, {}),
        ("{bad", {RAW_ARGUMENTS_KEY: "{bad"}),
        ("[1, 2]", {RAW_ARGUMENTS_KEY: "[1, 2]"}),
        ("NaN", {RAW_ARGUMENTS_KEY: "NaN"}),
    ],
)
def test_arguments_from_wire(raw: object, expected: dict[str, object]) -> None:
    assert arguments_from_wire(raw) == expected
