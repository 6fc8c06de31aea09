"""Zendesk Support (tickets) through the Ticketing API v2, over the shared ``HelpdeskHttp``.

Calls (reference/helpdesk-webhooks.md §2e and developer.zendesk.com):

- get: ``GET /api/v2/tickets/{id}.json?include=users`` (the requester's e-mail side-loaded);
- create: ``POST /api/v2/tickets.json`` with the ``Idempotency-Key`` header, which Zendesk
  honours on ticket creation: a retry or a repeated call returns the first ticket;
- comment / note: ``PUT /api/v2/tickets/{id}.json`` with ``ticket.comment`` (``public``,
  ``author_id`` = the bot agent). Zendesk takes no key there and a comment's ``metadata``
  is read-only, so the key travels as an invisible marker at the end of the body
  (``key_marker``: zero-width characters, a digest of the key). Check-before-write: before
  posting, and before a retry whose answer was lost, the newest comments
  (``GET /api/v2/tickets/{id}/comments.json?sort=-created_at``) are searched for it;
- update: status, priority, assignee and group with ``PUT /api/v2/tickets/{id}.json``
  (absolute values, so repeating them changes nothing); tags with the Tags API,
  ``PUT`` (add) and ``DELETE`` (remove) ``/api/v2/tickets/{id}/tags.json``, set operations
  that leave other tags alone (a ticket update's ``tags`` would replace them all);
- customer's tickets: ``GET /api/v2/users/search.json?query=email:…`` (exact matches kept),
  then ``GET /api/v2/users/{id}/tickets/requested.json``; newest first;
- hand-off: one ``PUT`` with ``group_id``, ``assignee_id: null``, ``status: open``,
  ``priority`` and a private note with the summary (marked, checked before writing like a
  comment), then the tags (``bot_escalated``) with the Tags API.

Not verified against a live account: that Zendesk keeps the zero-width marker in ``body``
(``plain_body`` and ``html_body`` are searched too). Were it stripped, the check would fail
open (a possible duplicate), never closed (a lost reply).

Auth: ``Basic base64("{email}/token:{api_token}")`` or an OAuth ``Bearer`` token. The
credentials live only in the client's default headers; they are never logged and never
part of an error message.
"""

import asyncio
import base64
import dataclasses
import random
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.context import Customer
from tools.errors import HelpdeskResponseInvalid, TicketNotFound
from tools.helpdesk_http import HelpdeskHttp, Sleep
from tools.retry import RetryPolicy
from tools.ticketing import zendesk_wire as wire
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.key_marker import has_marker, with_marker

_SUBDOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_PAGE_SIZE = 100
_MAX_PAGES = 50  # list calls read at most 5,000 records
_CHECK_PAGES = 2  # check-before-write searches the 200 newest comments


@dataclass(frozen=True)
class ZendeskConfig:
    """Where and how to reach one Zendesk account.

    ``subdomain`` (``acme`` for acme.zendesk.com) or ``base_url`` (tests, proxies); either
    ``email`` + ``api_token`` or ``oauth_token``; ``bot_agent_id`` authors the bot's
    comments; ``handoff_group_id`` is where a hand-off without a group goes.
    """

    subdomain: str | None = None
    base_url: str | None = None
    email: str | None = None
    api_token: str | None = field(default=None, repr=False)
    oauth_token: str | None = field(default=None, repr=False)
    bot_agent_id: str | None = None
    handoff_group_id: str | None = None
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.base_url is None and not _SUBDOMAIN.fullmatch(self.subdomain or ""):
            raise ValueError("zendesk: give a subdomain (letters, digits, -) or a base_url")
        if bool(self.email and self.api_token) == bool(self.oauth_token):
            raise ValueError("zendesk: give either email and api_token, or oauth_token")
        for name in ("bot_agent_id", "handoff_group_id"):
            value = getattr(self, name)
            if value is not None and not value.isdigit():
                raise ValueError(f"zendesk: {name} must be a numeric Zendesk id")

    @property
    def url(self) -> str:
        return (self.base_url or f"https://{self.subdomain}.zendesk.com").rstrip("/")

    def authorization(self) -> str:
        """The ``Authorization`` header value (a secret: keep it out of logs)."""
        if self.oauth_token:
            return f"Bearer {self.oauth_token}"
        basic = f"{self.email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(basic).decode()


class ZendeskClient(TicketingBackend):
    name = "zendesk"

    def __init__(
        self,
        config: ZendeskConfig,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._http = HelpdeskHttp(
            "zendesk",
            config.url,
            headers={"Authorization": config.authorization(), "Accept": "application/json"},
            timeout_s=config.timeout_s,
            retry=config.retry,
            sleep=sleep,
            rng=rng,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ---------------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        path = _ticket_path(wire.path_id(ticket_id))
        answer = await self._http.request("GET", path, params={"include": "users"})
        payload = wire.obj(answer, "ticket answer")
        return self._ticket(payload.get("ticket"), wire.user_emails(payload.get("users")))

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        path = f"/api/v2/tickets/{wire.path_id(ticket_id)}/comments.json"
        comments, _ = await self._collect(path, "comments", {}, _MAX_PAGES)
        return [wire.comment_from(comment) for comment in comments]

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        tickets: list[Ticket] = []
        for user_id in await self._requester_ids(customer):
            path = f"/api/v2/users/{user_id}/tickets/requested.json"
            try:
                found, users = await self._collect(path, "tickets", {"include": "users"})
            except TicketNotFound:
                continue  # no such user: no tickets
            emails = wire.user_emails(users)
            tickets += [self._ticket(data, emails) for data in found]
        tickets.sort(key=lambda t: (t.created_at or "", int(t.id)), reverse=True)
        return tickets[: max(limit, 0)]

    # --- writes --------------------------------------------------------------------------
    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        payload = await self._http.request(
            "POST",
            "/api/v2/tickets.json",
            json_body=wire.new_ticket_body(ticket),
            headers={"Idempotency-Key": idempotency_key},
        )
        created = self._ticket(wire.obj(payload, "create answer").get("ticket"), {})
        return dataclasses.replace(created, requester_email=ticket.requester.email)

    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        number, mark = wire.path_id(ticket_id), f"comment:{idempotency_key}"
        comment = wire.comment_json(with_marker(body, mark), public, self._config.bot_agent_id)
        return await self._write_marked(number, mark, {"comment": comment})

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        """Zendesk takes no key here, and needs none: the fields are absolute values and the
        Tags API adds and removes as sets, so a repeat leaves the ticket as the first left it."""
        number, fields = wire.path_id(ticket_id), wire.update_fields(update)
        if fields:
            await self._http.request("PUT", _ticket_path(number), json_body={"ticket": fields})
        await self._tags(number, "PUT", update.add_tags)
        await self._tags(number, "DELETE", update.remove_tags)
        return await self.get_ticket(ticket_id)

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        number, mark = wire.path_id(ticket_id), f"hand_off:{idempotency_key}"
        await self._write_marked(number, mark, self._handoff_fields(handoff, mark))
        await self._tags(number, "PUT", handoff.tags)

    # --- helpers -------------------------------------------------------------------------
    def _handoff_fields(self, handoff: Handoff, mark: str) -> wire.Json:
        group_id = handoff.group_id or self._config.handoff_group_id
        assignee = handoff.assignee_id
        fields: wire.Json = {
            "status": "open",
            "assignee_id": wire.body_id(assignee, "assignee_id") if assignee else None,
        }
        if group_id is not None:
            fields["group_id"] = wire.body_id(group_id, "group_id")
        if handoff.priority is not None:
            fields["priority"] = handoff.priority.value
        note = with_marker(handoff_note(handoff), mark)
        fields["comment"] = wire.comment_json(note, False, self._config.bot_agent_id)
        return fields

    async def _write_marked(self, number: int, mark: str, fields: wire.Json) -> Comment:
        """Put a marked comment (and fields) unless a comment with the marker is there."""
        found = await self._marked_comment(number, mark)
        if found is not None:
            return found
        answer = await self._http.request(
            "PUT",
            _ticket_path(number),
            json_body={"ticket": fields},
            already_applied=lambda: self._marked_comment(number, mark),
        )
        if isinstance(answer, Comment):  # the lost first attempt had gone through
            return answer
        posted = wire.audit_comment(answer) or await self._marked_comment(number, mark)
        if posted is None:
            raise HelpdeskResponseInvalid("zendesk: the comment is not in the update's answer")
        return posted

    async def _marked_comment(self, number: int, mark: str) -> Comment | None:
        path = f"/api/v2/tickets/{number}/comments.json"
        newest, _ = await self._collect(path, "comments", {"sort": "-created_at"}, _CHECK_PAGES)
        for comment in newest:
            if any(has_marker(text, mark) for text in wire.raw_bodies(comment)):
                return wire.comment_from(comment)
        return None

    async def _tags(self, number: int, method: str, tags: tuple[str, ...]) -> None:
        wanted = [tag for tag in dict.fromkeys(tags) if tag]
        if wanted:
            path = f"/api/v2/tickets/{number}/tags.json"
            await self._http.request(method, path, json_body={"tags": wanted})

    async def _requester_ids(self, customer: Customer) -> list[str]:
        """Zendesk users whose e-mail is exactly the customer's; else the customer's id."""
        if not customer.email:
            return [customer.id] if wire.is_zendesk_id(customer.id) else []
        answer = await self._http.request(
            "GET", "/api/v2/users/search.json", params={"query": f"email:{customer.email}"}
        )
        emails = wire.user_emails(wire.obj(answer, "user search").get("users"))
        wanted = customer.email.casefold()
        return [user_id for user_id, email in emails.items() if email.casefold() == wanted]

    async def _collect(
        self, path: str, key: str, params: dict[str, str | int], max_pages: int = _MAX_PAGES
    ) -> tuple[list[wire.Json], list[Any]]:
        """Up to ``max_pages`` pages (cursor pagination): the records and side-loaded users."""
        found: list[wire.Json] = []
        users: list[Any] = []
        query: dict[str, str | int] = {**params, "page[size]": _PAGE_SIZE}
        for _ in range(max_pages):
            payload = wire.obj(await self._http.request("GET", path, params=query), key)
            found += wire.array(payload.get(key), key)
            users += wire.array(payload.get("users", []), "users")
            cursor = wire.next_cursor(payload)
            if cursor is None:
                break
            query["page[after]"] = cursor
        return found, users

    def _ticket(self, data: Any, emails: dict[str, str]) -> Ticket:
        return wire.ticket_from(data, self._config.url, emails)


def _ticket_path(number: int) -> str:
    return f"/api/v2/tickets/{number}.json"
