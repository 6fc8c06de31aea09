"""The ticketing interface every backend implements (contract suite: tests/contracts/).

Ids are strings whatever the platform uses. Conversation-based helpdesks (Chatwoot,
Intercom, Help Scout, Front) map a conversation to a ``Ticket``. Every write takes an
``idempotency_key``: calling it again with the same key must not act twice (the
platform's idempotency key where it has one, a check-before-write otherwise).
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from tools.context import Customer


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


class TicketPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True)
class Ticket:
    id: str
    subject: str
    status: TicketStatus
    priority: TicketPriority | None = None
    requester_email: str | None = None
    requester_id: str | None = None
    tags: tuple[str, ...] = ()
    assignee_id: str | None = None
    group_id: str | None = None
    url: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(frozen=True)
class Comment:
    id: str
    body: str
    public: bool
    author_id: str | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class NewTicket:
    subject: str
    body: str
    requester: Customer
    priority: TicketPriority | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketUpdate:
    """Fields to change; None (or empty) leaves a field as it is."""

    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    assignee_id: str | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class Handoff:
    """Give the conversation to people: where to route it and what they need to know."""

    reason: str
    summary: str
    priority: TicketPriority | None = None
    group_id: str | None = None
    assignee_id: str | None = None
    tags: tuple[str, ...] = field(default=("bot_escalated",))


def handoff_note(handoff: Handoff) -> str:
    """The private note every backend posts when it hands off (the same words everywhere)."""
    return f"Handed off by the bot. Reason: {handoff.reason}\n\n{handoff.summary}"


def handoff_update(
    handoff: Handoff, default_assignee: str | None = None, default_group: str | None = None
) -> TicketUpdate:
    """The change a hand-off makes: reopened, prioritised, tagged, routed (to the
    platform's configured person or group unless the hand-off names one)."""
    return TicketUpdate(
        status=TicketStatus.OPEN,
        priority=handoff.priority,
        add_tags=handoff.tags,
        assignee_id=handoff.assignee_id or default_assignee,
        group_id=handoff.group_id or default_group,
    )


def priority_tag(priority: TicketPriority) -> str:
    """The tag that stands for a priority on platforms without one (``supports_priority``)."""
    return f"priority_{priority.value}"


class TicketingBackend(Protocol):
    """What the tools and the channels need from a helpdesk (or the built-in store).

    Implementations subclass this Protocol explicitly, so they inherit the capability
    defaults below and override only what their platform lacks.
    """

    name: str
    # False where the platform has no priority field: the backend then records a priority
    # as the tag ``priority_tag(p)`` (and may still report it in ``Ticket.priority``).
    supports_priority: bool = True

    async def get_ticket(self, ticket_id: str) -> Ticket:
        """The ticket; TicketNotFound when it does not exist."""
        ...

    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket: ...

    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        """A public reply (``public``) or an internal note."""
        ...

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        """Replies and notes, oldest first (check-before-write relies on it)."""
        ...

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket: ...

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        """The customer's tickets, newest first (matched by e-mail, else by id)."""
        ...

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """The platform's hand-off call: route to people, note the summary, tag it."""
        ...

    async def aclose(self) -> None: ...
