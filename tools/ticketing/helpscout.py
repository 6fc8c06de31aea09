"""Help Scout client (Mailbox API 2.0): conversations are the tickets.

Auth: OAuth2 client credentials (``helpscout_auth``), then Bearer. Calls (reference §6e):
``GET /v2/conversations/{id}`` and ``/threads``; ``POST /v2/conversations/{id}/reply``
(``customer.id`` required) and ``/notes``; ``PUT /v2/conversations/{id}/tags`` (replaces
the set: the client merges with the current tags first); ``PATCH /v2/conversations/{id}``
with one JSON-patch operation per call (``/status``, ``/assignTo``, move ``/mailboxId``);
``GET /v2/conversations?query=(email:"…")&status=all``; ``POST /v2/conversations``, which
answers 201 with the new id in the ``Resource-ID`` header and no body.

No priority field: the priority is the tag ``priority_tag(p)`` (``supports_priority =
False``). Idempotency (Help Scout takes no key): replies, notes and the opening thread of a
new conversation carry the key's invisible marker (``key_marker``); before posting, and
before retrying a post whose answer was lost, the client looks for a thread carrying it.
Tags, status, assignee and mailbox are set operations, skipped when already in place.
The tag merge reads then replaces: a tag a person adds between the two can be lost.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.context import Customer
from tools.helpdesk_http import Sleep
from tools.retry import RetryPolicy
from tools.ticketing import helpscout_parse as parse
from tools.ticketing import helpscout_wire as wire
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketUpdate,
    handoff_note,
    handoff_update,
    priority_tag,
)
from tools.ticketing.helpdesk_json import Json, at, opt_ident, opt_text
from tools.ticketing.helpscout_auth import TOKEN_PATH, HelpScoutAuth
from tools.ticketing.key_marker import has_marker, with_marker
from tools.ticketing.tagging import tag_changes

_MAX_THREAD_PAGES = 20


@dataclass(frozen=True)
class HelpScoutConfig:
    """An OAuth app's client credentials and the mailbox new conversations open in."""

    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    mailbox_id: str
    base_url: str = "https://api.helpscout.net"
    user_id: str | None = None  # who replies/notes are posted as (default: the app's owner)
    handoff_mailbox_id: str | None = None  # hand-offs without a group move here
    handoff_user_id: str | None = None  # hand-offs without an assignee go to this user


class HelpScoutClient(TicketingBackend):
    name = "helpscout"
    supports_priority = False

    def __init__(
        self,
        config: HelpScoutConfig,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        token_url = config.base_url.rstrip("/") + TOKEN_PATH
        self._http = wire.ResourceIdHttp(
            "helpscout",
            config.base_url,
            headers={"Accept": "application/json"},
            auth=HelpScoutAuth(token_url, config.client_id, config.client_secret),
            retry=retry,
            timeout_s=timeout_s,
            sleep=sleep,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ---------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        return parse.ticket(await self._conversation(ticket_id))

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        return parse.comments(await self._threads(ticket_id))

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        if limit <= 0:
            return []
        found = await self._customer_conversations(customer)
        return [parse.ticket(conv) for conv in found[:limit]]

    # --- writes --------------------------------------------------------------------
    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        async def earlier() -> Comment | None:
            return parse.marked_comment(await self._threads(ticket_id), idempotency_key)

        found = await earlier()
        if found is not None:
            return found
        payload: Json = {"text": with_marker(body, idempotency_key)}
        if self._config.user_id:
            payload["user"] = wire.number(self._config.user_id, "user_id")
        if public:
            customer_id = at(await self._conversation(ticket_id), "primaryCustomer", "id")
            payload["customer"] = {"id": customer_id}
        kind = "reply" if public else "notes"
        answer = await self._http.request(
            "POST", f"{wire.path(ticket_id)}/{kind}", json_body=payload, already_applied=earlier
        )
        if isinstance(answer, Comment):
            return answer
        return await earlier() or Comment(
            id=wire.created_id(answer), body=body, public=public, author_id=self._config.user_id
        )

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        """Set operations only (status, mailbox, assignee, tags): repeats change nothing."""
        await self._update(ticket_id, update)
        return await self.get_ticket(ticket_id)

    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        """A conversation in the configured mailbox, opened by the requester's message."""
        customer = wire.customer_ref(ticket.requester)

        async def earlier() -> wire.Created | None:
            for conv in await self._customer_conversations(ticket.requester, threads=True):
                threads = parse.embedded(conv, "threads") if "_embedded" in conv else []
                if any(has_marker(opt_text(t.get("body")), idempotency_key) for t in threads):
                    return wire.Created(str(conv["id"]))
            return None

        tags = list(ticket.tags)
        if ticket.priority is not None:
            tags.append(priority_tag(ticket.priority))
        payload: Json = {
            "subject": ticket.subject,
            "customer": customer,
            "mailboxId": wire.number(self._config.mailbox_id, "mailbox_id"),
            "type": "email",
            "status": "active",
            "threads": [
                {
                    "type": "customer",
                    "customer": customer,
                    "text": with_marker(ticket.body, idempotency_key),
                }
            ],
            "tags": list(dict.fromkeys(tags)),
        }
        answer = await earlier() or await self._http.request(
            "POST", "/v2/conversations", json_body=payload, already_applied=earlier
        )
        return await self.get_ticket(wire.created_id(answer))

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """Note the summary, tag, reactivate, move mailbox; unassigned unless a user is named."""
        note = handoff_note(handoff)
        await self.comment(ticket_id, note, public=False, idempotency_key=f"{idempotency_key}:note")
        config = self._config
        update = handoff_update(handoff, config.handoff_user_id, config.handoff_mailbox_id)
        await self._update(ticket_id, update, unassign=update.assignee_id is None)

    # --- helpers -------------------------------------------------------------------
    async def _conversation(self, conversation_id: str) -> Json:
        return parse.conversation(await self._http.request("GET", wire.path(conversation_id)))

    async def _update(self, ticket_id: str, update: TicketUpdate, unassign: bool = False) -> None:
        conv = await self._conversation(ticket_id)
        if update.status is not None:
            await self._patch_if(conv, "replace", "status", parse.STATUS_FOR[update.status])
        if update.group_id is not None:
            await self._patch_if(conv, "move", "mailboxId", wire.number(update.group_id, "mailbox"))
        current = opt_ident(at(conv, "assignee", "id"))
        if update.assignee_id is not None:
            assignee = wire.number(update.assignee_id, "assignee")
            if current != str(assignee):
                await self._patch(ticket_id, "replace", "assignTo", assignee)
        elif unassign and current is not None:
            await self._unassign(ticket_id)
        tags = parse.tag_names(conv)
        changes = tag_changes(tags, update.add_tags, update.remove_tags, update.priority)
        if changes:
            body = {"tags": list(changes.result(tags))}
            await self._http.request("PUT", f"{wire.path(ticket_id)}/tags", json_body=body)

    async def _unassign(self, ticket_id: str) -> None:
        """Removing an assignee already removed may be refused: a retry checks first."""

        async def applied() -> Json | None:
            conv = await self._conversation(ticket_id)
            return conv if at(conv, "assignee", "id") is None else None

        body = {"op": "remove", "path": "/assignTo"}
        await self._http.request(
            "PATCH", wire.path(ticket_id), json_body=body, already_applied=applied
        )

    async def _threads(self, conversation_id: str) -> list[Json]:
        threads: list[Json] = []
        page, pages = 1, 1
        while page <= min(pages, _MAX_THREAD_PAGES):
            answer = await self._http.request(
                "GET", f"{wire.path(conversation_id)}/threads", params={"page": page}
            )
            threads += parse.embedded(answer, "threads")
            page, pages = page + 1, parse.total_pages(answer)
        return threads

    async def _customer_conversations(
        self, customer: Customer, threads: bool = False
    ) -> list[Json]:
        query = wire.customer_query(customer)
        if query is None:
            return []
        params: dict[str, str | int] = {
            "query": query,
            "status": "all",
            "sortField": "createdAt",
            "sortOrder": "desc",
        }
        if threads:
            params["embed"] = "threads"
        answer = await self._http.request("GET", "/v2/conversations", params=params)
        return [parse.conversation(c) for c in parse.embedded(answer, "conversations")]

    async def _patch_if(self, conv: Json, op: str, name: str, value: Any) -> None:
        if conv.get(name) != value:
            await self._patch(str(conv["id"]), op, name, value)

    async def _patch(self, conversation_id: str, op: str, name: str, value: Any) -> None:
        body = {"op": op, "path": f"/{name}", "value": value}
        await self._http.request("PATCH", wire.path(conversation_id), json_body=body)
