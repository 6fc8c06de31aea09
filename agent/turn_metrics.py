"""What a finished turn adds to the metrics: the Prometheus counters of this process and a
row of the stats store (agent.runtime.stats_store), both read from the turn's outcome.

A turn counts toward the automation rate when the bot ran it (the graph, or the fail-safe
hand-off); it is *automated* when it ended with a reply and neither an escalation nor a
pause for approval.
"""

from dataclasses import dataclass

from agent import metrics
from agent.graph.state import TraceEvent
from agent.outcome import TurnOutcome
from agent.runtime import stats_records as fields
from agent.runtime.stats_records import Counts, StatsRow, latency_counts
from agent.turn_records import label


@dataclass(frozen=True)
class TurnFacts:
    tenant: str
    channel: str
    outcome: str  # answered, degraded, escalated, approval
    automated: bool
    escalation: str | None  # the reason
    latency_s: float | None  # the graph's run; None for a resumed turn
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: tuple[str, ...] = ()
    tool_failures: tuple[tuple[str, str], ...] = ()  # (tool, "error" | "system")


def turn_facts(
    outcome: TurnOutcome, tenant: str, channel: str, latency_s: float | None
) -> TurnFacts:
    events = outcome.trace[outcome.new_events_from :]
    calls, failures = _tool_calls(events)
    agent = [event.detail for event in events if event.node == "agent"]
    escalation = outcome.escalation.reason.value if outcome.escalation else None
    return TurnFacts(
        tenant=tenant,
        channel=channel,
        outcome=label(outcome),
        automated=outcome.reply is not None and escalation is None and outcome.approval is None,
        escalation=escalation,
        latency_s=latency_s,
        prompt_tokens=sum(int(detail.get("prompt_tokens") or 0) for detail in agent),
        completion_tokens=sum(int(detail.get("completion_tokens") or 0) for detail in agent),
        tool_calls=calls,
        tool_failures=failures,
    )


def observe(facts: TurnFacts) -> None:
    """Count the turn in this process's Prometheus metrics."""
    tenant, channel = facts.tenant, facts.channel
    metrics.TURNS.labels(tenant=tenant, channel=channel, outcome=facts.outcome).inc()
    metrics.GRAPH_TURNS.labels(tenant=tenant, channel=channel).inc()
    if facts.automated:
        metrics.AUTOMATED_TURNS.labels(tenant=tenant, channel=channel).inc()
    if facts.escalation is not None:
        metrics.ESCALATIONS.labels(tenant=tenant, reason=facts.escalation).inc()
    if facts.latency_s is not None:
        metrics.TURN_SECONDS.labels(tenant=tenant).observe(facts.latency_s)
    metrics.MODEL_TOKENS.labels(tenant=tenant, kind="prompt").inc(facts.prompt_tokens)
    metrics.MODEL_TOKENS.labels(tenant=tenant, kind="completion").inc(facts.completion_tokens)
    for tool in facts.tool_calls:
        metrics.TOOL_CALLS.labels(tool=tool).inc()
    for tool, kind in facts.tool_failures:
        metrics.TOOL_FAILURES.labels(tool=tool, kind=kind).inc()


def stats_row(facts: TurnFacts, at: float) -> StatsRow:
    """The turn as the stats store counts it."""
    counts: Counts = {
        fields.TURNS: 1,
        fields.AUTOMATED: int(facts.automated),
        fields.PROMPT_TOKENS: facts.prompt_tokens,
        fields.COMPLETION_TOKENS: facts.completion_tokens,
    }
    if facts.escalation is not None:
        counts[fields.ESCALATION + facts.escalation] = 1
    if facts.latency_s is not None:
        counts.update(latency_counts(facts.latency_s))
    for tool in facts.tool_calls:
        name = fields.TOOL_CALL + tool
        counts[name] = counts.get(name, 0) + 1
    for tool, _kind in facts.tool_failures:
        name = fields.TOOL_FAILURE + tool
        counts[name] = counts.get(name, 0) + 1
    return StatsRow(facts.tenant, at, counts)


def _tool_calls(events: list[TraceEvent]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The tools run (held ones are counted when an approval runs them) and those that
    failed: a result the model gets back as an error, or a system failure."""
    calls: list[str] = []
    failures: list[tuple[str, str]] = []
    for event in events:
        detail = event.detail
        ran = (detail.get("calls") or []) if event.node == "tools" else []
        for call in ran:
            calls.append(str(call.get("tool")))
            if not call.get("ok"):
                failures.append((str(call.get("tool")), "error"))
        if event.node == "approval" and detail.get("approved") and "ok" in detail:
            calls.append(str(detail.get("tool")))
            if not detail.get("ok"):
                failures.append((str(detail.get("tool")), "error"))
        if detail.get("failed"):
            calls.append(str(detail["failed"]))
            failures.append((str(detail["failed"]), "system"))
    return tuple(calls), tuple(failures)
