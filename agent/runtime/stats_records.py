"""What the stats store keeps: counts per tenant and minute, under named fields.

One bucket per tenant and minute holds plain counters (turns, automated turns,
escalations per reason, tokens, tool calls and failures per tool, webhook rejections per
cause) and a turn-latency histogram with fixed bounds (``LATENCY_BOUNDS_S``, one counter
per bucket plus the sum). Windows add buckets up; percentiles are interpolated from the
histogram (agent.admin.stats).

Every count also goes to its hour's bucket (``HOUR_S``), so a long window reads its whole
hours at hour resolution and only its ragged ends minute by minute (``plan_window``): a
30-day window reads some 840 buckets instead of 43,200, with the same totals.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

STATS_VERSION = 1
BUCKET_S = 60
HOUR_S = 3600  # the rollup: every count is also added to its hour
# Upper bounds (seconds) of the turn-latency buckets; one more bucket holds the rest.
LATENCY_BOUNDS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)

TURNS = "turns"
AUTOMATED = "automated"
PROMPT_TOKENS = "tokens:prompt"
COMPLETION_TOKENS = "tokens:completion"
LATENCY_SUM_MS = "latency:sum_ms"
ESCALATION = "escalation:"  # + reason
TOOL_CALL = "tool:"  # + tool name
TOOL_FAILURE = "tool_failure:"  # + tool name
REJECTION = "rejection:"  # + cause
LATENCY_BUCKET = "latency:"  # + bucket index (0 .. len(LATENCY_BOUNDS_S))

Counts = dict[str, int]


@dataclass(frozen=True)
class StatsRow:
    """Counts to add to ``tenant``'s bucket holding the time ``at`` (Unix seconds)."""

    tenant: str
    at: float
    counts: Mapping[str, int] = field(default_factory=dict)


def bucket_of(at: float) -> int:
    """The start (Unix seconds) of the minute holding ``at``."""
    return int(at // BUCKET_S) * BUCKET_S


def hour_of(at: float) -> int:
    """The start (Unix seconds) of the hour holding ``at``."""
    return int(at // HOUR_S) * HOUR_S


@dataclass(frozen=True)
class WindowPlan:
    """The buckets that sum to a window: ``minutes``, ranges [from, to) read minute by
    minute, and ``hours`` [from, to) of whole hours (None: none)."""

    minutes: tuple[tuple[int, float], ...]
    hours: tuple[int, int] | None


def plan_window(start: int, until: float, hours_from: int = 0) -> WindowPlan:
    """The buckets whose minute starts in [``start``, ``until``) (``start``: a minute's
    start): whole hours as hour buckets, from ``hours_from`` on (before it a store's hour
    buckets are not complete), the ends as minutes."""
    first = max(-(-start // HOUR_S) * HOUR_S, -(-hours_from // HOUR_S) * HOUR_S)
    last = hour_of(until)
    if first >= last:
        return WindowPlan(((start, until),), None)
    ends = ((start, first), (last, until))
    return WindowPlan(tuple((a, b) for a, b in ends if a < b), (first, last))


def latency_bucket(seconds: float) -> str:
    """The field counting a turn that took ``seconds``."""
    for index, bound in enumerate(LATENCY_BOUNDS_S):
        if seconds <= bound:
            return f"{LATENCY_BUCKET}{index}"
    return f"{LATENCY_BUCKET}{len(LATENCY_BOUNDS_S)}"


def latency_counts(seconds: float) -> Counts:
    return {latency_bucket(seconds): 1, LATENCY_SUM_MS: round(seconds * 1000)}
