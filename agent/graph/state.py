"""The state of one turn as it flows through the graph."""

import operator
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


class TurnState(TypedDict, total=False):
    # Who and where (set by the caller; never from the model)
    conversation_key: str
    tenant: str
    customer: Customer
    # What was said
    history: list[ChatMessage]
    message: str
    # What the turn found and did
    passages: list[Passage]
    retrieval_confidence: float
    exchange: list[ChatMessage]
    tool_calls_made: int
    draft: str
    degraded_reason: str
    escalation: Escalation
    pending_approval: ApprovalRequest  # a tool call held back for a person's decision
    reply: Reply
    trace: Annotated[list[TraceEvent], operator.add]
