"""The stats summary of a time window (``/admin/v1/stats`` and the console's dashboard).

Counts are summed from the stats store's per-minute buckets, so a window is read at
minute resolution (``since`` rounds down to its minute). Turn-latency percentiles are
interpolated linearly inside the fixed histogram buckets
(``agent.runtime.stats_records.LATENCY_BOUNDS_S``), as Prometheus' ``histogram_quantile``
does: exact to within a bucket's width; a percentile falling in the last, open bucket is
reported as that bucket's lower bound (120 s).
"""

from dataclasses import dataclass
from typing import Any

from agent.runtime import stats_records as fields
from agent.runtime.stats_records import LATENCY_BOUNDS_S, Counts
from agent.runtime.stats_store import StatsStore

PERCENTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


@dataclass(frozen=True)
class Window:
    since: float  # Unix seconds, inclusive (rounded down to the minute)
    until: float  # Unix seconds, exclusive
    tenant: str | None = None  # None: every tenant


async def summary(store: StatsStore, window: Window) -> dict[str, Any]:
    totals = await store.totals(window.since, window.until, window.tenant)
    return summarise(totals)


def summarise(totals: Counts) -> dict[str, Any]:
    turns = totals.get(fields.TURNS, 0)
    automated = totals.get(fields.AUTOMATED, 0)
    escalations = _by_prefix(totals, fields.ESCALATION)
    rejections = _by_prefix(totals, fields.REJECTION)
    prompt = totals.get(fields.PROMPT_TOKENS, 0)
    completion = totals.get(fields.COMPLETION_TOKENS, 0)
    return {
        "turns": turns,
        "automated_turns": automated,
        "automation_rate": round(automated / turns, 4) if turns else None,
        "escalations": {"total": sum(escalations.values()), "by_reason": escalations},
        "latency_s": latency(totals),
        "tokens": {"prompt": prompt, "completion": completion, "total": prompt + completion},
        "tool_calls": tool_calls(totals),
        "webhook_rejections": {"total": sum(rejections.values()), "by_cause": rejections},
    }


def latency(totals: Counts) -> dict[str, Any]:
    counts = [
        totals.get(f"{fields.LATENCY_BUCKET}{i}", 0) for i in range(len(LATENCY_BOUNDS_S) + 1)
    ]
    observed = sum(counts)
    mean = totals.get(fields.LATENCY_SUM_MS, 0) / 1000 / observed if observed else None
    answer: dict[str, Any] = {"count": observed, "mean": _round(mean)}
    for name, q in PERCENTILES.items():
        answer[name] = _round(percentile(counts, q))
    bounds: list[float | None] = [*LATENCY_BOUNDS_S, None]
    answer["buckets"] = [{"le": le, "count": n} for le, n in zip(bounds, counts, strict=True)]
    return answer


def percentile(counts: list[int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram with ``LATENCY_BOUNDS_S`` upper bounds (and a
    last, open bucket), interpolated linearly inside the bucket it falls in."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            if index == len(LATENCY_BOUNDS_S):
                return LATENCY_BOUNDS_S[-1]
            lower = LATENCY_BOUNDS_S[index - 1] if index else 0.0
            upper = LATENCY_BOUNDS_S[index]
            return lower + (upper - lower) * (rank - below) / count
        below += count
    return LATENCY_BOUNDS_S[-1]


def tool_calls(totals: Counts) -> dict[str, Any]:
    calls = _by_prefix(totals, fields.TOOL_CALL)
    failures = _by_prefix(totals, fields.TOOL_FAILURE)
    names = sorted(set(calls) | set(failures))
    return {
        "total": sum(calls.values()),
        "failures": sum(failures.values()),
        "by_tool": {
            name: {"calls": calls.get(name, 0), "failures": failures.get(name, 0)} for name in names
        },
    }


def _by_prefix(totals: Counts, prefix: str) -> dict[str, int]:
    return {
        name[len(prefix) :]: count
        for name, count in sorted(totals.items())
        if name.startswith(prefix) and count
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
