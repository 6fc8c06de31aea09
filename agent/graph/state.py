"""The state of one turn as it flows through the graph."""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypedDict

from agent.llm.types import ChatMessage
from knowledge.types import Passage
from tools.approval import ApprovalRequest
from tools.context import Customer


class EscalationReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    MODEL_UNAVAILABLE = "model_unavailable"
    LOW_CONFIDENCE = "low_confidence"
    TOOL_FAILURE = "tool_failure"
    APPROVAL_REQUIRED = "approval_required"
    FRUSTRATION = "frustration"
    SENSITIVE_TOPIC = "sensitive_topic"
    TOO_MANY_TURNS = "too_many_turns"
    VIP = "vip"
    ABUSE = "abuse"
    MODEL_REQUEST = "model_request"  # the model called its escalate tool
    UNGROUNDED = "ungrounded"  # the answer was not supported by the knowledge base


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True)
class Escalation:
    """Why the conversation goes to a person, and what that person needs to know."""

    reason: EscalationReason
    priority: Priority
    summary: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Reply:
    """What the customer will read, with the sources it rests on."""

    text: str
    citations: tuple[dict[str, str], ...] = ()
    grounded_in_kb: bool = False
    degraded: bool = False


@dataclass(frozen=True)
class TraceEvent:
    node: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Signals:
    """What the guard read in the customer's message (deterministic, no model)."""

    language: str | None = None
    injection: bool = False
    abuse: bool = False
    negative: bool = False
    topic: str | None = None  # legal, security, medical_safety
    pii: tuple[str, ...] = ()  # kinds found (card, iban, email, phone, national_id)
    reasons: tuple[str, ...] = ()
    truncated: bool = False


@dataclass(frozen=True)
class Memory:
    """What the conversation has taught the bot so far; kept by the checkpointer across
    turns (thread = conversation key), so facts are reused rather than asked again."""

    facts: dict[str, str] = field(default_factory=dict)  # order_id, email, ...
    turns: int = 0
    negative_turns: int = 0  # consecutive
    low_confidence_turns: int = 0  # consecutive
    language: str | None = None


class NewTurn(list[TraceEvent]):
    """Given as a turn's input ``trace``: starts the trace afresh instead of extending it
    (a conversation's checkpointed state outlives each turn)."""


def extend_trace(earlier: list[TraceEvent], new: list[TraceEvent]) -> list[TraceEvent]:
    if isinstance(new, NewTurn):
        return list(new)
    return earlier + new


class TurnState(TypedDict, total=False):
    # Who and where (set by the caller; never from the model)
    conversation_key: str
    tenant: str
    customer: Customer
    # What was said
    history: list[ChatMessage]
    message: str
    message_ids: list[str]  # the runtime's messages the turn answers (to resume it)
    signals: Signals
    memory: Memory  # not reset between turns
    # What the turn found and did
    passages: list[Passage]
    retrieval_confidence: float
    exchange: list[ChatMessage]
    tool_calls_made: int
    draft: str
    degraded_reason: str
    escalation: Escalation | None
    pending_approval: ApprovalRequest | None  # a tool call held back for a person's decision
    pending_call_id: str | None  # the model's id of that call
    reply: Reply | None
    trace: Annotated[list[TraceEvent], extend_trace]


def turn_input(
    conversation_key: str,
    tenant: str,
    customer: Customer,
    history: list[ChatMessage],
    message: str,
    message_ids: list[str] | None = None,
) -> TurnState:
    """A turn's input: who and what, with every per-turn field reset (a checkpointed
    conversation would otherwise carry the previous turn's reply and findings over)."""
    return {
        "conversation_key": conversation_key,
        "tenant": tenant,
        "customer": customer,
        "history": history,
        "message": message,
        "message_ids": list(message_ids or ()),
        "signals": Signals(),
        "passages": [],
        "retrieval_confidence": 0.0,
        "exchange": [],
        "tool_calls_made": 0,
        "draft": "",
        "degraded_reason": "",
        "escalation": None,
        "pending_approval": None,
        "pending_call_id": None,
        "reply": None,
        "trace": NewTurn(),
    }


def turn_language(state: TurnState) -> str | None:
    """The customer's language as the guard read it, or as the conversation established it."""
    signals, memory = state.get("signals"), state.get("memory")
    return (signals.language if signals else None) or (memory.language if memory else None)
