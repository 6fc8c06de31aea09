"""Intercom client (REST API 2.14): conversations are the tickets.

Calls (reference §4e): ``GET /conversations/{id}``; ``POST /conversations/{id}/reply``
(``message_type`` comment/note, ``type: admin``, ``admin_id``); ``POST
/conversations/{id}/parts`` (open, close, snoozed, assignment to an admin or a team);
``POST /conversations/{id}/tags`` ``{"id", "admin_id"}`` and ``DELETE
/conversations/{id}/tags/{tag_id}``, tag names resolved with ``GET /tags`` / ``POST /tags``;
``POST /contacts/search`` and ``POST /contacts``; ``POST /conversations/search``
(``contact_ids``); ``POST /conversations`` (``from: {type: user, id}``: a conversation takes
no subject when created, so ``PUT /conversations/{id}`` sets it as the ``title``).

Priority: setting it exists only in Intercom's ``Unstable`` API version, which may change
without notice, so this client does not call it: the priority is the tag
``priority_tag(p)`` (``supports_priority = False``), like Help Scout and Front.

Idempotency (Intercom takes no key): replies, notes and new conversations carry the key's
invisible marker (``key_marker``) in their body; before posting, and before retrying a
post whose answer was lost, the client looks for a part (or opening message) carrying it.
Title, status, assignment and tag changes are set operations, skipped when already in
place; their retry after a lost answer first checks whether they took effect (Intercom
refuses, say, removing a tag that is already gone).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from tools.context import Customer
from tools.errors import HelpdeskResponseInvalid
from tools.helpdesk_http import HelpdeskHttp, Sleep
from tools.retry import RetryPolicy
from tools.ticketing import intercom_lookup as lookup
from tools.ticketing import intercom_parse as parse
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketStatus,
    TicketUpdate,
    handoff_note,
    handoff_update,
)
from tools.ticketing.helpdesk_json import Json, at, ident, obj, opt_text
from tools.ticketing.key_marker import has_marker, with_marker
from tools.ticketing.tagging import TagChanges, tag_changes

Done = Callable[[Json], bool]  # has a change taken effect on this conversation?
_UNASSIGNED = "0"  # the assignee id that unassigns (and what an unassigned one reads as)
_STATE_FOR = {
    TicketStatus.NEW: "open",
    TicketStatus.OPEN: "open",
    TicketStatus.PENDING: "snoozed",
    TicketStatus.SOLVED: "closed",
    TicketStatus.CLOSED: "closed",
}


@dataclass(frozen=True)
class IntercomConfig:
    """``admin_id`` is the bot's admin: it authors replies, notes, tags and assignments."""

    access_token: str = field(repr=False)
    admin_id: str
    base_url: str = "https://api.intercom.io"
    api_version: str = "2.14"
    handoff_team_id: str | None = None  # hand-offs without a group go to this team
    snooze_s: int = 86_400  # PENDING snoozes the conversation this long


class IntercomClient(TicketingBackend):
    name = "intercom"
    supports_priority = False

    def __init__(
        self,
        config: IntercomConfig,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._http = HelpdeskHttp(
            "intercom",
            config.base_url,
            headers={
                "Authorization": f"Bearer {config.access_token}",
                "Intercom-Version": config.api_version,
                "Accept": "application/json",
            },
            retry=retry,
            timeout_s=timeout_s,
            sleep=sleep,
            transport=transport,
        )
        self._tags = lookup.TagIds(self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ---------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        return parse.ticket(await self._conversation(ticket_id))

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        return parse.comments(await self._conversation(ticket_id))

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        contact_ids = [
            ident(c.get("id"), "intercom contact")
            for c in await lookup.find_contacts(self._http, customer)
        ]
        if not contact_ids or limit <= 0:
            return []
        tickets = [parse.ticket(c) for c in await lookup.conversations_of(self._http, contact_ids)]
        tickets.sort(key=lambda t: t.created_at or "", reverse=True)
        return tickets[:limit]

    # --- writes --------------------------------------------------------------------
    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        async def earlier() -> Comment | None:
            return parse.marked_comment(await self._conversation(ticket_id), idempotency_key)

        found = await earlier()
        if found is not None:
            return found
        payload = {
            "message_type": "comment" if public else "note",
            "type": "admin",
            "admin_id": self._config.admin_id,
            "body": with_marker(body, idempotency_key),
        }
        answer = await self._http.request(
            "POST", f"{_path(ticket_id)}/reply", json_body=payload, already_applied=earlier
        )
        if isinstance(answer, Comment):
            return answer
        posted = parse.marked_comment(parse.conversation(answer), idempotency_key)
        if posted is None:
            raise HelpdeskResponseInvalid("intercom reply: the answer lacks the new part")
        return posted

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        """Set operations only (state, assignee, tags): a repeat finds them done and skips."""
        await self._update(ticket_id, update)
        return await self.get_ticket(ticket_id)

    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        """A conversation started by the requester's contact (found by e-mail, else created)."""
        contacts = await lookup.find_contacts(self._http, ticket.requester)
        contact = (
            contacts[0] if contacts else await lookup.create_contact(self._http, ticket.requester)
        )
        contact_id = ident(contact.get("id"), "intercom contact")

        async def earlier() -> Json | None:
            for conv in await lookup.conversations_of(self._http, [contact_id]):
                if has_marker(opt_text(at(conv, "source", "body")), idempotency_key):
                    return {"conversation_id": conv["id"]}
            return None

        answer = await earlier() or await self._http.request(
            "POST",
            "/conversations",
            json_body={
                "from": {"type": _role(contact), "id": contact_id},
                "body": with_marker(ticket.body, idempotency_key),
            },
            already_applied=earlier,
        )
        conversation_id = ident(
            obj(answer, "intercom message").get("conversation_id"), "intercom message"
        )
        # The conversation takes no subject when created: it becomes the title (PUT).
        extra = TicketUpdate(add_tags=ticket.tags, priority=ticket.priority)
        await self._update(conversation_id, extra, title=ticket.subject)
        return await self.get_ticket(conversation_id)

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """Note the summary, tag, reopen, route to the team; unassigned unless an admin is named."""
        note = handoff_note(handoff)
        await self.comment(ticket_id, note, public=False, idempotency_key=f"{idempotency_key}:note")
        update = handoff_update(handoff, default_group=self._config.handoff_team_id)
        await self._update(ticket_id, update, unassign=update.assignee_id is None)

    # --- helpers -------------------------------------------------------------------
    async def _conversation(self, conversation_id: str) -> Json:
        return parse.conversation(await self._http.request("GET", _path(conversation_id)))

    async def _update(
        self, ticket_id: str, update: TicketUpdate, *, title: str = "", unassign: bool = False
    ) -> None:
        conv = await self._conversation(ticket_id)
        if title and conv.get("title") != title:
            await self._set(
                conv, "PUT", _path(ticket_id), {"title": title}, _field_is("title", title)
            )
        if update.status is not None:
            await self._set_state(conv, _STATE_FOR[update.status])
        admin = update.assignee_id or (_UNASSIGNED if unassign else None)
        await self._assign(conv, admin, update.group_id)
        changes = tag_changes(
            parse.tag_names(conv), update.add_tags, update.remove_tags, update.priority
        )
        await self._retag(conv, changes)

    async def _set(self, conv: Json, method: str, path: str, body: Json, done: Done) -> None:
        """A change whose retry, after a lost answer, first checks whether it took effect
        (closing a closed conversation or removing a removed tag would be refused)."""

        async def applied() -> Json | None:
            fresh = await self._conversation(conv["id"])
            return fresh if done(fresh) else None

        await self._http.request(method, path, json_body=body, already_applied=applied)

    async def _part(self, conv: Json, body: Json, done: Done) -> None:
        payload = {"admin_id": self._config.admin_id, **body}
        await self._set(conv, "POST", f"{_path(conv['id'])}/parts", payload, done)

    async def _set_state(self, conv: Json, state: str) -> None:
        if conv.get("state") == state:
            return
        done = _field_is("state", state)
        if state == "open":
            await self._part(conv, {"message_type": "open"}, done)
        elif state == "closed":
            await self._part(conv, {"message_type": "close", "type": "admin"}, done)
        else:
            until = int(time.time()) + self._config.snooze_s
            await self._part(conv, {"message_type": "snoozed", "snoozed_until": until}, done)

    async def _assign(self, conv: Json, admin_id: str | None, team_id: str | None) -> None:
        if team_id and parse.team_of(conv) != team_id:
            await self._part(conv, _assignment("team", team_id), _team_is(team_id))
        if admin_id and _admin(conv) != admin_id:
            await self._part(conv, _assignment("admin", admin_id), _admin_is(admin_id))

    async def _retag(self, conv: Json, changes: TagChanges) -> None:
        on_conversation = {str(t.get("name")): ident(t.get("id"), "tag") for t in parse.tags(conv)}
        admin = {"admin_id": self._config.admin_id}
        for name in changes.add:
            body = {"id": await self._tags.of(name), **admin}
            tags_path = f"{_path(conv['id'])}/tags"
            await self._set(conv, "POST", tags_path, body, _tagged(name, present=True))
        for name in changes.remove:
            tag_path = f"{_path(conv['id'])}/tags/{quote(on_conversation[name], safe='')}"
            await self._set(conv, "DELETE", tag_path, admin, _tagged(name, present=False))


def _path(conversation_id: Any) -> str:
    return f"/conversations/{quote(str(conversation_id), safe='')}"


def _assignment(kind: str, assignee_id: str) -> Json:
    return {"message_type": "assignment", "type": kind, "assignee_id": assignee_id}


def _role(contact: Json) -> str:
    return "lead" if contact.get("role") == "lead" else "user"


def _admin(conv: Json) -> str:
    return parse.admin_of(conv) or _UNASSIGNED


def _field_is(name: str, value: str) -> Done:
    return lambda conv: conv.get(name) == value


def _team_is(team_id: str) -> Done:
    return lambda conv: parse.team_of(conv) == team_id


def _admin_is(admin_id: str) -> Done:
    return lambda conv: _admin(conv) == admin_id


def _tagged(name: str, present: bool) -> Done:
    return lambda conv: (name in parse.tag_names(conv)) == present
