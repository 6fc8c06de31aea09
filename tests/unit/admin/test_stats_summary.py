"""The stats summary: counters decoded, percentiles interpolated from the latency buckets
(worked out by hand below), and a turn's facts read from its trace."""

import pytest

from agent.admin.stats import percentile, summarise
from agent.graph.state import Escalation, EscalationReason, Priority, Reply, TraceEvent
from agent.outcome import TurnOutcome
from agent.runtime.stats_records import LATENCY_BOUNDS_S, latency_counts
from agent.turn_metrics import stats_row, turn_facts


def _totals(latencies_s: list[float]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for seconds in latencies_s:
        for name, count in latency_counts(seconds).items():
            totals[name] = totals.get(name, 0) + count
    return totals


def test_percentiles_are_interpolated_inside_the_buckets() -> None:
    # 2 turns in (0, 0.1], 5 in (0.5, 1], 2 in (1, 2], 1 above 120 s.
    latencies = [0.05, 0.08, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 1.9, 300.0]
    result = summarise(_totals(latencies))["latency_s"]
    # p50: rank 5 of 10 falls in (0.5, 1] after 2 below: 0.5 + 0.5 * (5 - 2) / 5 = 0.8
    assert result["p50"] == pytest.approx(0.8)
    # p90: rank 9 falls in (1, 2] after 7 below: 1 + 1 * (9 - 7) / 2 = 2.0
    assert result["p90"] == pytest.approx(2.0)
    # p99: rank 9.9 falls in the open bucket above 120 s: reported as its lower bound
    assert result["p99"] == pytest.approx(120.0)
    assert result["count"] == 10
    assert result["mean"] == pytest.approx(sum(latencies) / 10, abs=0.001)
    counts = {bucket["le"]: bucket["count"] for bucket in result["buckets"]}
    assert counts[0.1] == 2 and counts[1.0] == 5 and counts[2.0] == 2 and counts[None] == 1


def test_percentile_of_one_bucket_and_of_nothing() -> None:
    counts = [0] * (len(LATENCY_BOUNDS_S) + 1)
    assert percentile(counts, 0.5) is None
    counts[1] = 4  # four turns in (0.1, 0.25]: p25 = 0.1 + 0.15 * 1 / 4
    assert percentile(counts, 0.25) == pytest.approx(0.1375)
    assert percentile(counts, 1.0) == pytest.approx(0.25)


def test_the_summary_decodes_every_counter() -> None:
    totals = {
        "turns": 4,
        "automated": 3,
        "escalation:vip": 1,
        "tokens:prompt": 100,
        "tokens:completion": 20,
        "tool:track_shipment": 3,
        "tool_failure:track_shipment": 1,
        "tool_failure:request_refund": 1,
        "rejection:bad_signature": 5,
        "rejection:too_large": 1,
    }
    result = summarise(totals)
    assert result["automation_rate"] == 0.75
    assert result["escalations"] == {"total": 1, "by_reason": {"vip": 1}}
    assert result["tokens"] == {"prompt": 100, "completion": 20, "total": 120}
    assert result["tool_calls"] == {
        "total": 3,
        "failures": 2,
        "by_tool": {
            "request_refund": {"calls": 0, "failures": 1},
            "track_shipment": {"calls": 3, "failures": 1},
        },
    }
    assert result["webhook_rejections"] == {
        "total": 6,
        "by_cause": {"bad_signature": 5, "too_large": 1},
    }
    assert summarise({})["automation_rate"] is None


TRACE = [
    TraceEvent("guard", {"ms": 1}),
    TraceEvent("agent", {"prompt_tokens": 900, "completion_tokens": 30}),
    TraceEvent(
        "tools",
        {"calls": [{"tool": "track_shipment", "ok": True}, {"tool": "get_order", "ok": False}]},
    ),
    TraceEvent("agent", {"prompt_tokens": 1000, "completion_tokens": 40}),
]


def test_a_turns_facts_come_from_its_trace() -> None:
    outcome = TurnOutcome(Reply("Shipped."), trace=TRACE)
    facts = turn_facts(outcome, "demo", "generic", 1.5)
    assert facts.automated and facts.outcome == "answered" and facts.escalation is None
    assert (facts.prompt_tokens, facts.completion_tokens) == (1900, 70)
    assert facts.tool_calls == ("track_shipment", "get_order")
    assert facts.tool_failures == (("get_order", "error"),)
    row = stats_row(facts, 1000.0)
    assert row.counts["turns"] == 1 and row.counts["automated"] == 1
    assert row.counts["tool:get_order"] == 1 and row.counts["tool_failure:get_order"] == 1
    assert row.counts["latency:4"] == 1 and row.counts["latency:sum_ms"] == 1500


def test_a_resumed_turn_counts_only_its_own_events() -> None:
    """A run resumed after an approval carries the paused run's events first."""
    resumed = [
        *TRACE,
        TraceEvent("approval", {"approved": True, "tool": "request_refund", "ok": True}),
        TraceEvent("tools", {"failed": "create_ticket", "error": "timeout"}),
    ]
    escalation = Escalation(EscalationReason.TOOL_FAILURE, Priority.HIGH, summary="s")
    outcome = TurnOutcome(Reply("A person will help."), escalation, resumed, new_events_from=4)
    facts = turn_facts(outcome, "demo", "generic", None)
    assert not facts.automated and facts.escalation == "tool_failure"
    assert (facts.prompt_tokens, facts.completion_tokens) == (0, 0)
    assert facts.tool_calls == ("request_refund", "create_ticket")
    assert facts.tool_failures == (("create_ticket", "system"),)
    assert "latency:sum_ms" not in stats_row(facts, 0.0).counts
