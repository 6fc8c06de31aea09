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
    tenant: str
    conversation_key: str
    customer: Customer | None
