"""Records the runtime stores and queues, each carrying a schema version when persisted."""

import base64
import hashlib
import re
import time
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from tools.context import Customer

SCHEMA_VERSION = 1
CUSTOMER_MESSAGE = "customer"
APPROVAL_DECISION = "approval"
MODE_CHANGE = "mode"  # the helpdesk says who owns the conversation: data {"mode", "reason"}
# (an operator's take-over or hand-back through the admin API too, with "source": "operator")
OPERATOR_ACTION = "operator"  # an operator's action for the worker: data {"action", "by", ...}


class Mode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class Author(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    OPERATOR = "operator"


@dataclass(frozen=True)
class InboundMessage:
    """One customer message accepted by a channel, waiting for its turn."""

    tenant: str
    channel: str
    conversation_id: str
    message_id: str
    text: str
    customer: Customer
    received_at: float = field(default_factory=time.time)
    kind: str = "customer"  # "approval": an operator's decision queued for the worker;
    # "mode": a person took the conversation in the helpdesk (or gave it back)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.tenant, self.channel, self.conversation_id)

    @property
    def from_customer(self) -> bool:
        return self.kind == CUSTOMER_MESSAGE

    def to_dict(self) -> dict[str, Any]:
        # What ``asdict`` gives, without its generic recursion (on the webhook path).
        return {
            "v": SCHEMA_VERSION,
            "tenant": self.tenant,
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "text": self.text,
            "customer": {name: getattr(self.customer, name) for name in _CUSTOMER_FIELDS},
            "received_at": self.received_at,
            "kind": self.kind,
            "data": _copy(self.data),
        }

    @property
    def is_mode_change(self) -> bool:
        return self.kind == MODE_CHANGE

    @property
    def is_operator_action(self) -> bool:
        return self.kind == OPERATOR_ACTION

    def transcript_entry(self) -> "TranscriptEntry | None":
        """How the message appears in the transcript (recorded when it is accepted): a
        helpdesk agent's reply as the operator's words, an ownership change not at all (nor
        an operator's action: the worker records what it does)."""
        if self.is_operator_action:
            return None
        if self.is_mode_change:
            if not self.text:
                return None
            meta = {"source": "helpdesk", "mode": self.data.get("mode")}
            return TranscriptEntry(
                Author.OPERATOR, self.text, self.message_id, self.received_at, meta=meta
            )
        return TranscriptEntry(Author.CUSTOMER, self.text, self.message_id, self.received_at)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InboundMessage":
        fields = {k: v for k, v in data.items() if k != "v"}
        fields["customer"] = Customer(**fields["customer"])
        return cls(**fields)


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of a conversation as the customer and the operators see it."""

    author: Author
    text: str
    message_id: str
    at: float = field(default_factory=time.time)
    citations: tuple[dict[str, str], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "author": self.author.value,
            "text": self.text,
            "message_id": self.message_id,
            "at": self.at,
            "citations": [_copy(citation) for citation in self.citations],
            "meta": _copy(self.meta),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TranscriptEntry":
        return cls(
            author=Author(data["author"]),
            text=data["text"],
            message_id=data["message_id"],
            at=float(data["at"]),
            citations=tuple(data.get("citations") or ()),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(frozen=True)
class ConversationState:
    """What the runtime keeps about a conversation besides its transcript."""

    key: str
    mode: Mode = Mode.AUTO
    escalation_reason: str | None = None
    updated_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "key": self.key,
            "mode": self.mode.value,
            "escalation_reason": self.escalation_reason,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConversationState":
        return cls(
            key=data["key"],
            mode=Mode(data["mode"]),
            escalation_reason=data.get("escalation_reason"),
            updated_at=float(data["updated_at"]),
        )


_CUSTOMER_FIELDS = tuple(f.name for f in fields(Customer))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (what ``asdict`` does to a field's value)."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copy(item) for item in value)
    return value


def conversation_key(tenant: str, channel: str, conversation_id: str) -> str:
    """The canonical key ``{tenant}:{channel}:{conversation id}``."""
    return f"{tenant}:{channel}:{conversation_id}"


@dataclass(frozen=True)
class OutboxItem:
    """One action of a turn (reply, note, tags, handoff), written before it is delivered.

    ``key`` is its idempotency key: the same turn re-run produces the same key, and the
    channel client passes it on so the helpdesk shows the action once.
    """

    key: str
    kind: str
    payload: dict[str, Any]
    delivered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"v": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OutboxItem":
        return cls(
            key=data["key"],
            kind=data["kind"],
            payload=dict(data["payload"]),
            delivered=bool(data.get("delivered", False)),
        )


@dataclass(frozen=True)
class Claim:
    """A conversation held by one worker: its fencing token and the messages waiting in it.

    ``fence`` grows with every claim of the conversation; a worker whose fence is no
    longer the current one (its lease expired and another worker took over) cannot
    commit, renew or release anything. ``attempts`` counts the claims since the last
    commit, except those after a holder that died without releasing the conversation
    (whether its lease had ended or not): those are ``crashes``.
    """

    conversation_key: str
    fence: int
    messages: tuple[InboundMessage, ...]
    attempts: int = 1
    holder: str = ""  # the worker process holding it ("" for none that beats)
    crashes: int = 0  # claims after a holder that died during the turn (never released it)


@dataclass(frozen=True)
class TurnCommit:
    """What a turn writes at once, under its claim: all of it or none of it."""

    consumed: int  # how many of the claim's messages, from the oldest, the turn handled
    entries: tuple[TranscriptEntry, ...] = ()
    outbox: tuple[OutboxItem, ...] = ()
    state: ConversationState | None = None
    approvals: tuple["ApprovalRecord", ...] = ()


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class ApprovalRecord:
    """A sensitive action a turn held back, waiting for an operator's decision.

    ``checkpoint_id`` is the paused graph's checkpoint: the decision resumes it there.
    """

    id: str
    conversation_key: str
    tool: str
    arguments: dict[str, Any]
    reason: str
    checkpoint_id: str
    customer_id: str
    status: ApprovalStatus = ApprovalStatus.PENDING
    created_at: float = field(default_factory=time.time)
    decided_by: str | None = None
    note: str | None = None
    decided_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return {"v": SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ApprovalRecord":
        fields = {k: v for k, v in data.items() if k != "v"}
        fields["status"] = ApprovalStatus(fields["status"])
        return cls(**fields)


def approval_id(conversation_key: str, idempotency_key: str) -> str:
    """A URL-safe id that names its conversation, so any process can find the record."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]
    encoded = base64.urlsafe_b64encode(conversation_key.encode()).decode().rstrip("=")
    return f"apr_{digest}_{encoded}"


def approval_conversation(approval: str) -> str | None:
    """The conversation key inside an approval id, or None when it is not one."""
    match = _APPROVAL_ID.fullmatch(approval)
    if match is None:
        return None
    encoded = match["conversation"]
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return key if key.count(":") >= 2 else None


_APPROVAL_ID = re.compile(r"apr_[0-9a-f]{12}_(?P<conversation>[A-Za-z0-9_-]+)")
