"""The conversation directory: one summary record per conversation, for operators to list,
filter and page through (the runtime's other stores are keyed by conversation and cannot
be listed).

Records are written by the worker after each commit and by the operator actions it runs
(``agent.admin.directory``), never on the webhook path. Implementations:
``agent.runtime.sqlite_directory`` (a table with indexes) and
``agent.runtime.redis_directory`` (a JSON string per conversation plus sorted sets by
updated time, per tenant and per status). Contract tests: tests/contracts/test_directory.py.
"""

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from agent.runtime.models import SCHEMA_VERSION, Mode


class Status(StrEnum):
    """Where a conversation stands, as an operator sees it."""

    AUTO = "auto"  # the bot answers
    MANUAL = "manual"  # a person took it (an operator, or an agent in the helpdesk)
    AWAITING_APPROVAL = "awaiting_approval"  # an action waits for an operator's decision
    ESCALATED = "escalated"  # the bot handed it off; nobody took it yet
    RESOLVED = "resolved"  # an operator closed it; the customer has not written since


@dataclass(frozen=True)
class ConversationSummary:
    """What the directory keeps about one conversation."""

    key: str
    tenant: str
    channel: str
    conversation_id: str
    status: Status = Status.AUTO
    mode: Mode = Mode.AUTO
    customer_id: str = ""
    escalation_reason: str | None = None  # the latest one, kept after a hand-back
    created_at: float = 0.0
    updated_at: float = 0.0
    last_message: dict[str, Any] | None = None  # {"author", "text" (a preview), "at"}
    counts: dict[str, int] = field(default_factory=dict)  # transcript entries by author
    entries: int = 0  # transcript entries summarised so far: the next update reads after them
    last_customer_at: float = 0.0
    approval_id: str | None = None  # the latest approval the bot asked for
    draft: dict[str, Any] | None = None  # draft mode: {"message_id", "text"} not yet handled
    resolved_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SCHEMA_VERSION,
            "key": self.key,
            "tenant": self.tenant,
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "status": self.status.value,
            "mode": self.mode.value,
            "customer_id": self.customer_id,
            "escalation_reason": self.escalation_reason,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last_message": self.last_message,
            "counts": dict(self.counts),
            "entries": self.entries,
            "last_customer_at": self.last_customer_at,
            "approval_id": self.approval_id,
            "draft": self.draft,
            "resolved_at": self.resolved_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConversationSummary":
        fields = {k: v for k, v in data.items() if k != "v"}
        fields["status"] = Status(fields["status"])
        fields["mode"] = Mode(fields["mode"])
        fields["counts"] = {str(k): int(v) for k, v in (fields.get("counts") or {}).items()}
        return cls(**fields)

    @classmethod
    def empty(cls, key: str, now: float) -> "ConversationSummary":
        tenant, channel, conversation_id = key.split(":", 2)
        return cls(key, tenant, channel, conversation_id, created_at=now, updated_at=now)

    def touched(self, now: float) -> "ConversationSummary":
        return replace(self, updated_at=now)


@dataclass(frozen=True)
class DirectoryQuery:
    """Filters on indexed fields; every one optional (None: any)."""

    tenant: str | None = None
    status: Status | None = None
    channel: str | None = None
    escalation_reason: str | None = None
    updated_since: float | None = None  # inclusive
    updated_until: float | None = None  # inclusive

    def matches(self, summary: ConversationSummary) -> bool:
        wanted = (
            (self.tenant, summary.tenant),
            (self.status, summary.status),
            (self.channel, summary.channel),
            (self.escalation_reason, summary.escalation_reason),
        )
        if any(want is not None and want != have for want, have in wanted):
            return False
        if self.updated_since is not None and summary.updated_at < self.updated_since:
            return False
        return self.updated_until is None or summary.updated_at <= self.updated_until


@dataclass(frozen=True, order=True)
class Position:
    """Where a page ended: the listing is newest first, by (updated_at, key) descending."""

    updated_at: float
    key: str


@dataclass(frozen=True)
class DirectoryPage:
    items: list[ConversationSummary]
    next: Position | None  # None: nothing after this page


class ConversationDirectory(Protocol):
    async def put(self, summary: ConversationSummary) -> None:
        """Insert or replace the conversation's summary (and its place in the indexes)."""
        ...

    async def get(self, conversation_key: str) -> ConversationSummary | None: ...

    async def page(
        self, query: DirectoryQuery, limit: int, after: Position | None = None
    ) -> DirectoryPage:
        """Up to ``limit`` summaries matching ``query``, newest update first, strictly after
        ``after``. A page may hold fewer than ``limit`` while ``next`` is set (an
        implementation may bound how many records one call examines); following ``next``
        until it is None yields every match once."""
        ...

    async def erase(self, conversation_key: str) -> None: ...
