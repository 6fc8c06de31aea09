"""What one turn produced, independent of how the graph got there."""

from dataclasses import dataclass, field

from agent.graph.state import Escalation, Reply, TraceEvent
from agent.runtime.models import ApprovalRecord


@dataclass(frozen=True)
class TurnOutcome:
    reply: Reply | None
    escalation: Escalation | None = None
    trace: list[TraceEvent] = field(default_factory=list)
    approval: ApprovalRecord | None = None  # the turn paused for a person's decision
    language: str | None = None  # the customer's, as the guard read it
    # Where this run's events start in ``trace``: a resumed turn's trace begins with the
    # events of the run that paused (counted then), so metrics skip them.
    new_events_from: int = 0
