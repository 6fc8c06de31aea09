"""One bot turn, explained: the trace events its transcript entry keeps (meta["trace"],
PII redacted when the turn was committed), arranged for an operator.

Nodes visited in order; retrieval (confidence, passages with source, title, url and
score); the model's calls (model, latency, tokens, tool calls asked for); the tools run
(arguments, ok, result) or held for approval; the escalation (reason, priority, summary)
and the approval the turn asked for.
"""

from typing import Any

from agent.runtime.models import TranscriptEntry


def turn_view(position: int, entry: TranscriptEntry) -> dict[str, Any]:
    events = [e for e in entry.meta.get("trace") or [] if isinstance(e, dict)]
    model_calls = [_model_call(e["detail"]) for e in _events(events, "agent")]
    return {
        "position": position,
        "message_id": entry.message_id,
        "at": entry.at,
        "answers": entry.meta.get("answers", []),
        "reply": entry.text,
        "degraded": bool(entry.meta.get("degraded")),
        "nodes": [str(e.get("node")) for e in events],
        "node_ms": {str(e.get("node")): e.get("detail", {}).get("ms") for e in events},
        "retrieval": _retrieval(events),
        "model": {
            "calls": model_calls,
            "latency_s": round(sum(c["latency_s"] or 0.0 for c in model_calls), 3),
            "prompt_tokens": sum(c["prompt_tokens"] or 0 for c in model_calls),
            "completion_tokens": sum(c["completion_tokens"] or 0 for c in model_calls),
        },
        "tool_calls": [
            *(call for e in _events(events, "tools") for call in _tool_calls(e["detail"])),
            *(_approved_call(e["detail"]) for e in _events(events, "approval")),
        ],
        "escalation": entry.meta.get("escalation"),
        "approval": entry.meta.get("approval"),
        "events": events,
    }


def _events(events: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("node") == node and isinstance(e.get("detail"), dict)]


def _retrieval(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    found = _events(events, "retrieve")
    if not found:
        return None
    detail = found[-1]["detail"]
    return {"confidence": detail.get("confidence"), "passages": detail.get("passages", [])}


def _model_call(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": detail.get("model"),
        "latency_s": detail.get("latency_s"),
        "prompt_tokens": detail.get("prompt_tokens"),
        "completion_tokens": detail.get("completion_tokens"),
        "tool_calls": detail.get("tool_calls", []),
        "error": detail.get("error"),
    }


def _approved_call(detail: dict[str, Any]) -> dict[str, Any]:
    """A held call run (or not) after the operator's decision, in the resumed turn."""
    keys = ("tool", "arguments", "ok", "result", "approved", "by")
    return {key: detail.get(key) for key in keys}


def _tool_calls(detail: dict[str, Any]) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = [dict(call) for call in detail.get("calls", [])]
    if detail.get("approval_required"):
        calls.append(
            {
                "tool": detail["approval_required"],
                "arguments": detail.get("arguments"),
                "held_for_approval": True,
                "reason": detail.get("reason"),
            }
        )
    if detail.get("failed"):
        calls.append(
            {
                "tool": detail["failed"],
                "arguments": detail.get("arguments"),
                "ok": False,
                "error": detail.get("error"),
            }
        )
    if detail.get("escalate"):
        calls.append({"tool": "escalate_to_human", "arguments": {"reason": detail["escalate"]}})
    return calls
