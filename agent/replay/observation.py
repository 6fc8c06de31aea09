"""What a step produced, as the replay sees it: the bot's entry, its trace, the state."""

from dataclasses import dataclass, field
from typing import Any

QUOTED = "quoted the best passage"  # the respond node's note when it quoted instead


@dataclass(frozen=True)
class ToolUse:
    name: str
    arguments: dict[str, Any]

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{self.name}({args})"


@dataclass
class Observation:
    reply: str | None = None  # the bot's words this step; None when it said nothing
    citations: list[dict[str, str]] = field(default_factory=list)
    degraded: bool = False
    escalation: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    sent: list[str] = field(default_factory=list)  # message ids sent this step
    answers: list[str] = field(default_factory=list)  # message ids the reply answers
    tools: list[ToolUse] = field(default_factory=list)
    mode_before: str = "auto"
    mode: str = "auto"
    facts: dict[str, str] = field(default_factory=dict)
    language: str | None = None
    grounding: float | None = None
    min_grounding: float = 0.0
    latency_s: float | None = None
    trace: list[dict[str, Any]] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        """The observable result (no timings, no trace): equal across identical replays."""
        return {
            "reply": self.reply,
            "citations": [c.get("source") for c in self.citations],
            "degraded": self.degraded,
            "escalation": (self.escalation or {}).get("reason"),
            "approval": (self.approval or {}).get("tool"),
            "tools": [str(tool) for tool in self.tools],
            "mode": self.mode,
            "facts": self.facts,
            "language": self.language,
        }


def tool_uses(trace: list[dict[str, Any]]) -> list[ToolUse]:
    """The tools asked for, in order: the model's calls (held ones included) and the
    degraded path's intents."""
    uses: list[ToolUse] = []
    for event in trace:
        detail = event.get("detail") or {}
        if event.get("node") == "agent":
            for call in detail.get("tool_calls") or []:
                uses.append(ToolUse(str(call.get("name")), dict(call.get("arguments") or {})))
        elif event.get("node") == "degraded" and detail.get("tool"):
            uses.append(ToolUse(str(detail["tool"]), dict(detail.get("arguments") or {})))
    return uses


def grounding_score(trace: list[dict[str, Any]]) -> float | None:
    """The respond node's grounding score; a quote (the degraded path's, or the respond
    node's in place of an unsupported draft) is the passage itself (1.0)."""
    for event in reversed(trace):
        detail = event.get("detail") or {}
        if event.get("node") == "respond" and detail.get("rewritten") == QUOTED:
            return 1.0
        if event.get("node") == "respond" and "grounding" in detail:
            return float(detail["grounding"])
        if event.get("node") == "degraded" and detail.get("quoted"):
            return 1.0
    return None


def summarise_trace(trace: list[dict[str, Any]]) -> str:
    """One line: each node with what matters about it."""
    return " → ".join(_node(event) for event in trace) or "(no trace)"


def _node(event: dict[str, Any]) -> str:
    node, detail = str(event.get("node")), event.get("detail") or {}
    notes = [f"{k}={detail[k]}" for k in _NOTES.get(node, ()) if detail.get(k) not in _EMPTY]
    if node == "agent":
        calls = [c.get("name") for c in detail.get("tool_calls") or []]
        notes += [f"calls={','.join(map(str, calls))}"] if calls else []
    if node == "tools":
        notes += [
            f"{c.get('tool')}:{'ok' if c.get('ok') else 'error'}" for c in detail.get("calls") or []
        ]
    return f"{node}({', '.join(notes)})" if notes else node


_EMPTY: tuple[Any, ...] = (None, "", False, [], {})
_NOTES: dict[str, tuple[str, ...]] = {
    "guard": ("language", "topic"),
    "understand": ("escalation",),
    "retrieve": ("confidence",),
    "agent": ("error", "recovered_from_content", "corrective_reprompt"),
    "tools": ("approval_required", "failed", "escalate"),
    "approval": ("approved", "tool"),
    "respond": ("grounding", "rewritten", "language"),
    "degraded": ("reason", "intent", "tool", "quoted"),
    "escalate": ("reason",),
}
