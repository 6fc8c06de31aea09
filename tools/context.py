"""Who a tool acts for. Built from the verified helpdesk payload, never from model arguments."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Customer:
    """The customer as the helpdesk (not the model) identified them."""

    id: str
    email: str | None = None
    name: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class ToolContext:
    """The run a tool call belongs to.

    ``idempotency_key`` is set by the registry for each call (never by the caller): the
    same for a retried turn's identical call, so a write tool sends it to its backend
    and the action happens once.
    """

    tenant: str
    conversation_key: str
    customer: Customer | None
    idempotency_key: str | None = None
