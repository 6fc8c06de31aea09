"""The ticketing tools the model may call: the verified customer's tickets, one of them, a new one.

``list_my_tickets`` and ``get_ticket`` read; ``create_ticket`` writes with the call's
idempotency key, so a turn that is run again finds the first ticket instead of opening a
second. The customer is always the verified one of the ``ToolContext``: no argument names a
requester (one the model invents is ignored), and a ticket that is not the customer's reads
exactly like one that does not exist.

Failures: an unknown ticket, or a request the helpdesk refuses as invalid, is a message the
model can act on (``ToolInputError``); a helpdesk that is down, slow or refuses the
credentials is a system failure (``ToolExecutionError``: the turn goes to a person).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tools.context import Customer, ToolContext
from tools.errors import HelpdeskRejected, TicketingError, TicketNotFound, ToolExecutionError
from tools.registry import SideEffect, Tool, ToolInputError
from tools.ticketing.base import Comment, NewTicket, Ticket, TicketingBackend
from tools.ticketing.key_marker import strip_markers

TOOL_NAMES = ("list_my_tickets", "get_ticket", "create_ticket")
DEFAULT_TIMEOUT_S = 30.0
_MAX_COMMENTS = 20  # the newest public comments shown by get_ticket
_MAX_BODY_CHARS = 2000
_NO_CUSTOMER = (
    "the customer is not identified in this conversation, so no ticket can be looked up "
    "or opened for them"
)


class _Args(BaseModel):
    # Arguments the model was not offered (a requester, say) are ignored, never used.
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class ListMyTicketsArgs(_Args):
    limit: int = Field(default=10, ge=1, le=20, description="How many tickets, newest first.")


class GetTicketArgs(_Args):
    ticket_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The ticket's id, as list_my_tickets or create_ticket gave it.",
    )

    @field_validator("ticket_id", mode="before")
    @classmethod
    def _plain_id(cls, value: object) -> object:
        return value.strip().lstrip("#") if isinstance(value, str) else value


class CreateTicketArgs(_Args):
    subject: str = Field(min_length=3, max_length=150, description="A short summary.")
    description: str = Field(
        min_length=10,
        max_length=5000,
        description="What the customer needs, with the details they gave (order numbers, dates).",
    )


def ticketing_tools(
    backend: TicketingBackend | None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Tool[Any]]:
    """The three tools, acting on ``backend`` (None: not connected, every call fails)."""
    handlers = _Handlers(backend)
    return [
        Tool(
            name="list_my_tickets",
            description=(
                "List the current customer's support tickets, newest first: id, subject, "
                "status and last update."
            ),
            args_model=ListMyTicketsArgs,
            handler=handlers.list_my_tickets,
            side_effect=SideEffect.READ,
            timeout_s=timeout_s,
        ),
        Tool(
            name="get_ticket",
            description=(
                "Show one of the current customer's support tickets by its id, with its "
                "public replies."
            ),
            args_model=GetTicketArgs,
            handler=handlers.get_ticket,
            side_effect=SideEffect.READ,
            timeout_s=timeout_s,
        ),
        Tool(
            name="create_ticket",
            description=(
                "Open a support ticket for the current customer when their request needs a "
                "person to follow up. Tell the customer the ticket's id."
            ),
            args_model=CreateTicketArgs,
            handler=handlers.create_ticket,
            side_effect=SideEffect.WRITE,
            timeout_s=timeout_s,
        ),
    ]


def is_requester(ticket: Ticket, customer: Customer) -> bool:
    """Whether ``customer`` asked for ``ticket``: by e-mail (any case) when both have one,
    else by id (the rule ``list_customer_tickets`` follows)."""
    if customer.email and ticket.requester_email:
        return ticket.requester_email.casefold() == customer.email.casefold()
    return bool(ticket.requester_id) and ticket.requester_id == customer.id


class _Handlers:
    def __init__(self, backend: TicketingBackend | None) -> None:
        self._backend = backend

    async def list_my_tickets(self, args: ListMyTicketsArgs, context: ToolContext) -> Any:
        customer, backend = _customer(context), self._connected()
        with _helpdesk_errors("list_my_tickets"):
            tickets = await backend.list_customer_tickets(customer, args.limit)
        return {"tickets": [_summary(ticket) for ticket in tickets]}

    async def get_ticket(self, args: GetTicketArgs, context: ToolContext) -> Any:
        customer, backend = _customer(context), self._connected()
        not_found = f"no ticket {args.ticket_id} was found for this customer"
        with _helpdesk_errors("get_ticket", not_found):
            ticket = await backend.get_ticket(args.ticket_id)
            if not is_requester(ticket, customer):
                raise ToolInputError(not_found)
            comments = await backend.list_comments(ticket.id)
        return {**_summary(ticket), "comments": _public(comments, ticket)}

    async def create_ticket(self, args: CreateTicketArgs, context: ToolContext) -> Any:
        customer, backend = _customer(context), self._connected()
        if context.idempotency_key is None:
            raise ToolExecutionError("create_ticket: the call has no idempotency key")
        new = NewTicket(subject=args.subject, body=args.description, requester=customer)
        with _helpdesk_errors("create_ticket"):
            ticket = await backend.create_ticket(new, context.idempotency_key)
        return _summary(ticket)

    def _connected(self) -> TicketingBackend:
        if self._backend is None:
            raise ToolExecutionError("no helpdesk is connected for this tenant")
        return self._backend


def _customer(context: ToolContext) -> Customer:
    customer = context.customer
    if customer is None or not (customer.id or customer.email):
        raise ToolInputError(_NO_CUSTOMER)
    return customer


@contextmanager
def _helpdesk_errors(tool: str, not_found: str | None = None) -> Iterator[None]:
    """Ticketing errors as the registry understands them (model's to fix, or the system's)."""
    try:
        yield
    except TicketNotFound as error:
        if not_found is None:
            raise ToolExecutionError(f"{tool}: {error}") from error
        raise ToolInputError(not_found) from None
    except HelpdeskRejected as error:
        raise ToolInputError(f"the helpdesk refused this request ({error})") from None
    except TicketingError as error:  # unavailable, credentials refused, an invalid answer
        raise ToolExecutionError(f"{tool}: {type(error).__name__}: {error}") from error


def _summary(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "last_update": ticket.updated_at or ticket.created_at,
    }


def _public(comments: list[Comment], ticket: Ticket) -> list[dict[str, Any]]:
    shown = [c for c in comments if c.public][-_MAX_COMMENTS:]
    return [
        {
            "from": "customer" if c.author_id and c.author_id == ticket.requester_id else "support",
            "body": strip_markers(c.body).strip()[:_MAX_BODY_CHARS],
            "at": c.created_at,
        }
        for c in shown
    ]
