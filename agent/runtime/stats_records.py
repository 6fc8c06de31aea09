"""What the stats store keeps: counts per tenant and minute, under named fields.

One bucket per tenant and minute holds plain counters (turns, automated turns,
escalations per reason, tokens, tool calls and failures per tool, webhook rejections per
cause) and a turn-latency histogram with fixed bounds (``LATENCY_BOUNDS_S``, one counter
per bucket plus the sum). Windows add buckets up; percentiles are interpolated from the
histogram (agent.admin.stats).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

STATS_VERSION = 1
BUCKET_S = 60
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


def latency_bucket(seconds: float) -> str:
    """The field counting a turn that took ``seconds``."""
    for index, bound in enumerate(LATENCY_BOUNDS_S):
        if seconds <= bound:
            return f"{LATENCY_BUCKET}{index}"
    return f"{LATENCY_BUCKET}{len(LATENCY_BOUNDS_S)}"


def latency_counts(seconds: float) -> Counts:
    return {latency_bucket(seconds): 1, LATENCY_SUM_MS: round(seconds * 1000)}
