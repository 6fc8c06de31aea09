"""What a turn writes: the bot's transcript entry, the new state, metric labels."""

from dataclasses import asdict
from typing import Any

from agent.graph.state import Escalation, Reply
from agent.outcome import TurnOutcome
from agent.runtime.models import Author, ConversationState, InboundMessage, Mode, TranscriptEntry
from agent.safety import redact_nested


def bot_entry(answered: tuple[InboundMessage, ...], outcome: TurnOutcome) -> TranscriptEntry:
    """The reply as the transcript keeps it, with the turn's trace (PII redacted)."""
    reply = outcome.reply or Reply("")
    last = answered[-1].message_id
    meta: dict[str, Any] = {
        "in_reply_to": last,
        "answers": [message.message_id for message in answered],
        "degraded": reply.degraded,
    }
    if outcome.escalation is not None:
        meta["escalation"] = {
            "reason": outcome.escalation.reason.value,
            "priority": outcome.escalation.priority.value,
            "summary": outcome.escalation.summary,
        }
    if outcome.approval is not None:
        meta["approval"] = {"id": outcome.approval.id, "tool": outcome.approval.tool}
    meta["trace"] = redact_nested([asdict(event) for event in outcome.trace])
    return TranscriptEntry(
        Author.BOT, reply.text, f"{last}.reply", citations=reply.citations, meta=meta
    )


def escalated(state: ConversationState, escalation: Escalation) -> ConversationState:
    return ConversationState(
        key=state.key, mode=Mode.MANUAL, escalation_reason=escalation.reason.value
    )


def model_tokens(outcome: TurnOutcome) -> int:
    """Prompt and completion tokens the turn's model calls used (a resumed turn's own:
    those of the run that paused were counted when it paused)."""
    return sum(
        int(event.detail.get("prompt_tokens") or 0)
        + int(event.detail.get("completion_tokens") or 0)
        for event in outcome.trace[outcome.new_events_from :]
        if event.node == "agent"
    )


def label(outcome: TurnOutcome) -> str:
    if outcome.approval is not None:
        return "approval"
    if outcome.escalation is not None:
        return "escalated"
    if outcome.reply is not None and outcome.reply.degraded:
        return "degraded"
    return "answered"
