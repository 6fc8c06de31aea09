"""Freshdesk (API v2) as a ticketing backend.

Auth: HTTP Basic with the API key as the user name and ``X`` as the password. Calls:
``GET/POST /api/v2/tickets`` (list by requester ``email`` or ``requester_id``),
``GET/PUT /api/v2/tickets/{id}``, ``GET /api/v2/tickets/{id}/conversations``,
``POST /api/v2/tickets/{id}/reply`` (public, e-mailed to the customer) and
``POST /api/v2/tickets/{id}/notes`` (``private: true``). ``tags`` in a PUT replaces the
whole set, so tags are merged with the ticket's current ones first.

Idempotency (Freshdesk has no idempotency key), check-before-write:

- every body we write (reply, note, ticket description) ends with the key's invisible
  marker (``key_marker``: zero-width characters inside the last paragraph). An HTML comment
  ``<!-- … -->`` would be invisible too, but Freshdesk's HTML sanitising of comments is not
  documented (Rails sanitisers drop them by default), while text characters survive any
  sanitiser and the e-mail to the customer. Before writing, the ticket's conversations
  (or, for a new ticket, the requester's tickets with ``include=description``) are searched
  for the marker.
- when a write's answer is lost, the retry first looks again (``already_applied``): for the
  marker or, should the marker ever not survive, for a conversation or ticket created after
  the pre-check (a higher id) with the same words (the same subject).
- updates and hand-off routing set absolute values (tags merged from the current set),
  so repeating them changes nothing; the hand-off note is a keyed note like any other.

Freshdesk lists only tickets created in the last 30 days unless ``updated_since`` is
given, and combining ``updated_since`` with a requester filter is not documented: so
``list_customer_tickets`` (and the create check) see the requester's last 30 days.
A filter naming a contact Freshdesk does not know answers 400; that reads as no tickets.
"""

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from tools.context import Customer
from tools.errors import HelpdeskRejected, TicketingError
from tools.helpdesk_http import HelpdeskHttp, Sleep
from tools.retry import RetryPolicy
from tools.ticketing import freshdesk_wire as wire
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketUpdate,
    handoff_note,
    handoff_update,
)
from tools.ticketing.helpdesk_json import Json, items, obj, reference_number, ticket_number

_PAGE = 100
_MAX_PAGES = 20
_NEWEST_FIRST = {"order_by": "created_at", "order_type": "desc"}


@dataclass(frozen=True)
class FreshdeskConfig:
    """``base_url``: the account's address, e.g. ``https://acme.freshdesk.com``.

    ``human_group_id``: the group a hand-off routes to when the hand-off names none.
    """

    base_url: str
    api_key: str = field(repr=False)
    human_group_id: int | None = None
    timeout_s: float = 10.0


class FreshdeskClient(TicketingBackend):
    name = "freshdesk"

    def __init__(
        self,
        config: FreshdeskConfig,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._http = HelpdeskHttp(
            "freshdesk",
            config.base_url,
            headers={"Accept": "application/json"},
            auth=(config.api_key, "X"),
            timeout_s=config.timeout_s,
            retry=retry,
            sleep=sleep,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads -------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        return self._ticket(await self._raw_ticket(ticket_id))

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        """The ticket's description (the customer's first message), then its conversations."""
        ticket = await self._raw_ticket(ticket_id, include_requester=False)
        conversations = await self._conversations(ticket_id)
        return [wire.description_comment(ticket), *map(wire.to_comment, conversations)]

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        requester = wire.requester_filter(customer)
        if requester is None or limit <= 0:
            return []
        params = {**requester, **_NEWEST_FIRST, "per_page": min(limit, _PAGE)}
        found = (await self._requester_tickets(params))[:limit]
        return [self._ticket(ticket, customer.email) for ticket in found]

    # --- writes ------------------------------------------------------------------
    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        requester = wire.requester_filter(ticket.requester)
        if requester is None:
            raise TicketingError("a Freshdesk ticket needs the customer's e-mail or contact id")
        key, subject = idempotency_key, ticket.subject
        found, newest = await self._find_ticket(requester, key, subject, None)
        if found is None:

            async def applied() -> Json | None:
                return (await self._find_ticket(requester, key, subject, newest))[0]

            body = wire.new_ticket_body(ticket, requester, key)
            found = await self._http.request(
                "POST", "/api/v2/tickets", json_body=body, already_applied=applied
            )
        return self._ticket(found, ticket.requester.email)

    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        path = f"/api/v2/tickets/{ticket_number(ticket_id)}/{'reply' if public else 'notes'}"
        earlier = await self._conversations(ticket_id)
        found = wire.find_comment(earlier, idempotency_key, body, public, None)
        if found is None:
            newest = max((wire.number_of(c) for c in earlier), default=0)

            async def applied() -> Json | None:
                now = await self._conversations(ticket_id)
                return wire.find_comment(now, idempotency_key, body, public, newest)

            payload = wire.comment_body(body, public, idempotency_key)
            found = await self._http.request(
                "POST", path, json_body=payload, already_applied=applied
            )
        return wire.to_comment(found)

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        current = obj(await self._raw_ticket(ticket_id), "freshdesk ticket")
        return await self._put(ticket_id, current, wire.update_body(update, current))

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """A private note with the summary, then open, routed to the group, tagged.

        With no agent named the ticket is unassigned (the bot's own agent may hold it), so
        the group's assignment rules pick a person.
        """
        agent, group = handoff.assignee_id, handoff.group_id or self._config.human_group_id
        routing: Json = {"responder_id": reference_number(agent, "agent id") if agent else None}
        if group is not None:
            routing["group_id"] = reference_number(str(group), "group id")
        await self.comment(ticket_id, handoff_note(handoff), False, f"{idempotency_key}:note")
        current = obj(await self._raw_ticket(ticket_id), "freshdesk ticket")
        update = replace(handoff_update(handoff), assignee_id=None, group_id=None)  # in routing
        await self._put(ticket_id, current, {**wire.update_body(update, current), **routing})

    # --- helpers -----------------------------------------------------------------
    def _ticket(self, data: Any, requester_email: str | None = None) -> Ticket:
        return wire.to_ticket(data, self._config.base_url, requester_email)

    async def _raw_ticket(self, ticket_id: str, include_requester: bool = True) -> Any:
        path = f"/api/v2/tickets/{ticket_number(ticket_id)}"
        params = {"include": "requester"} if include_requester else None
        return await self._http.request("GET", path, params=params)

    async def _requester_tickets(self, params: dict[str, str | int]) -> list[Json]:
        """The requester's tickets; none when Freshdesk knows no such contact (it answers
        400 "no contact matching" to a filter naming an unknown e-mail or contact id)."""
        try:
            data = await self._http.request("GET", "/api/v2/tickets", params=params)
        except HelpdeskRejected as error:
            if error.status_code == 400:
                return []
            raise
        return items(data, "freshdesk ticket list")

    async def _put(self, ticket_id: str, current: Json, changes: Json) -> Ticket:
        before = self._ticket(current)
        if not changes:
            return before
        path = f"/api/v2/tickets/{ticket_number(ticket_id)}"
        data = await self._http.request("PUT", path, json_body=changes)
        return self._ticket(data, before.requester_email)

    async def _conversations(self, ticket_id: str) -> list[Json]:
        """Every conversation of the ticket, oldest first (pages of 100)."""
        path = f"/api/v2/tickets/{ticket_number(ticket_id)}/conversations"
        found: list[Json] = []
        for page in range(1, _MAX_PAGES + 1):
            data = await self._http.request("GET", path, params={"page": page, "per_page": _PAGE})
            batch = items(data, "freshdesk conversation list")
            found.extend(batch)
            if len(batch) < _PAGE:
                break
        return sorted(found, key=wire.number_of)

    async def _find_ticket(
        self, requester: dict[str, str | int], key: str, subject: str, after: int | None
    ) -> tuple[Json | None, int]:
        """The requester's recent ticket carrying ``key``, and the newest ticket id seen."""
        params = {**requester, **_NEWEST_FIRST, "per_page": _PAGE, "include": "description"}
        tickets = await self._requester_tickets(params)
        found = wire.find_ticket(tickets, key, subject, after)
        return found, max((wire.number_of(t) for t in tickets), default=0)
