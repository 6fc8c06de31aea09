"""Each expectation kind against a hand-made observation: what passes, what a miss says."""

from typing import Any

import pytest

from agent.replay.expectations import Miss, check
from agent.replay.format import Expectations
from agent.replay.observation import (
    Observation,
    ToolUse,
    grounding_score,
    summarise_trace,
    tool_uses,
)


def observed(**fields: Any) -> Observation:
    base: dict[str, Any] = {
        "reply": "Your order BL-10234 is shipped. [1]",
        "citations": [{"source": "tracking.md", "title": "Tracking", "url": "https://h/t"}],
        "tools": [
            ToolUse("lookup_order", {"order_id": "BL-10234"}),
            ToolUse("track_shipment", {"order_id": "BL-10234"}),
        ],
        "facts": {"order_id": "BL-10234"},
        "language": "en",
        "grounding": 0.9,
        "min_grounding": 0.5,
        "sent": ["m-1", "m-2"],
        "answers": ["m-1", "m-2"],
        "latency_s": 1.5,
    }
    return Observation(**(base | fields))


def misses(obs: Observation, **expect: Any) -> list[Miss]:
    return check(Expectations.model_validate(expect), obs)


PASSING: list[dict[str, Any]] = [
    {"replied": True},
    {"reply_matches": "BL-10234"},
    {"reply_matches": ["shipped", r"\[1\]"]},
    {"reply_not_matches": ["<tool_call>", "<think>"]},
    {"reply_cites": "tracking.md"},
    {"reply_cites": ["Tracking", "https://h/t"]},
    {"tool_called": "lookup_order"},
    {"tool_called": {"name": "lookup_order", "arguments": {"order_id": "BL-10234"}}},
    {"tool_called": [{"name": "track_shipment", "arguments_include": {"order_id": "BL-10234"}}]},
    {"no_tool_called": ["request_refund"]},
    {"tool_order": ["lookup_order", "track_shipment"]},
    {"escalated": False},
    {"handed_off": False},
    {"approval_requested": False},
    {"mode": "auto"},
    {"state": {"order_id": "BL-10234"}},
    {"language": "en"},
    {"grounded": True},
    {"degraded": False},
    {"coalesced": True},
    {"latency_s": 2},
]


@pytest.mark.parametrize("expect", PASSING, ids=lambda e: next(iter(e)))
def test_what_holds_passes(expect: dict[str, Any]) -> None:
    assert misses(observed(), **expect) == []


FAILING: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
    ({"replied": True}, {"reply": None}, "a reply", "no reply"),
    ({"reply_matches": ["shipped", "refund"]}, {}, "/refund/", "reply 'Your order"),
    ({"reply_not_matches": "shipped"}, {}, "no match for /shipped/", "reply"),
    ({"reply_cites": "refunds.md"}, {}, "a citation of refunds.md", "cited ['tracking.md']"),
    (
        {"tool_called": {"name": "lookup_order", "arguments": {"order_id": "BL-1"}}},
        {},
        "lookup_order with exactly {'order_id': 'BL-1'}",
        "tools called: lookup_order(order_id='BL-10234'), track_shipment",
    ),
    (
        {"tool_called": {"name": "lookup_order", "arguments_include": {"x": 1}}},
        {},
        "at least {'x': 1}",
        "",
    ),
    ({"no_tool_called": True}, {}, "no tool call", "lookup_order"),
    (
        {"tool_order": ["track_shipment", "lookup_order"]},
        {},
        "track_shipment then lookup_order",
        "",
    ),
    ({"escalated": True}, {}, "an escalation", "no escalation"),
    (
        {"escalated": {"reason": "customer_request"}},
        {"escalation": {"reason": "ungrounded", "priority": "normal", "summary": "s"}},
        "reason customer_request",
        "reason ungrounded",
    ),
    (
        {"escalated": {"summary_matches": "Customer wants"}},
        {"escalation": {"reason": "x", "priority": "high", "summary": "nothing"}},
        "a summary matching /Customer wants/",
        "summary 'nothing'",
    ),
    ({"handed_off": True}, {}, "the conversation handed to a person", "mode auto → auto"),
    ({"approval_requested": True}, {}, "an approval request", "no approval requested"),
    (
        {"approval_requested": {"tool": "cancel_order"}},
        {"approval": {"id": "a", "tool": "request_refund"}},
        "an approval for cancel_order",
        "approval requested for request_refund",
    ),
    ({"mode": "manual"}, {}, "manual", "mode auto"),
    (
        {"state": {"order_id": "BL-1"}},
        {},
        "facts {'order_id': 'BL-1'}",
        "facts {'order_id': 'BL-10234'}",
    ),
    ({"language": "es"}, {}, "es", "reply language en"),
    ({"grounded": True}, {"grounding": 0.2}, "grounding ≥ 0.5", "grounding 0.2"),
    ({"grounded": True}, {"grounding": None}, "grounding ≥ 0.5", "no grounding score"),
    ({"degraded": True}, {}, "degraded path", "the model's answer"),
    ({"coalesced": True}, {"answers": ["m-2"]}, "one reply to every message", "answers 1 of 2"),
    ({"latency_s": 1}, {}, "a reply within 1 s", "1.50 s"),
]


@pytest.mark.parametrize(
    ("expect", "changes", "expected", "actual"), FAILING, ids=lambda v: str(v)[:40]
)
def test_a_miss_says_what_was_expected_and_what_happened(
    expect: dict[str, Any], changes: dict[str, Any], expected: str, actual: str
) -> None:
    (miss,) = misses(observed(**changes), **expect)
    assert miss.expectation == next(iter(expect))
    assert expected in miss.expected
    assert actual in miss.actual


def test_handed_off_is_the_change_of_owner() -> None:
    assert misses(observed(mode_before="auto", mode="manual"), handed_off=True) == []
    assert misses(observed(mode_before="manual", mode="manual"), handed_off=True) != []


def test_several_misses_come_in_the_formats_order() -> None:
    found = misses(observed(reply=None), mode="manual", reply_matches="x", replied=True)
    assert [m.expectation for m in found] == ["replied", "reply_matches", "mode"]


TRACE = [
    {"node": "guard", "detail": {"language": "en", "injection": False}},
    {
        "node": "agent",
        "detail": {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "BL-1"}}]},
    },
    {"node": "tools", "detail": {"calls": [{"tool": "lookup_order", "ok": True}]}},
    {
        "node": "degraded",
        "detail": {"reason": "down", "tool": "track_shipment", "arguments": {"order_id": "BL-2"}},
    },
    {"node": "respond", "detail": {"grounding": 0.75, "language": "en"}},
]


def test_what_the_trace_tells() -> None:
    assert [str(u) for u in tool_uses(TRACE)] == [
        "lookup_order(order_id='BL-1')",
        "track_shipment(order_id='BL-2')",
    ]
    assert grounding_score(TRACE) == 0.75
    assert grounding_score([{"node": "degraded", "detail": {"quoted": "refunds.md"}}]) == 1.0
    rewritten = {"grounding": 0.0, "rewritten": "quoted the best passage"}
    assert grounding_score([{"node": "respond", "detail": rewritten}]) == 1.0  # the quote
    assert summarise_trace(TRACE) == (
        "guard(language=en) → agent(calls=lookup_order) → tools(lookup_order:ok)"
        " → degraded(reason=down, tool=track_shipment) → respond(grounding=0.75, language=en)"
    )
