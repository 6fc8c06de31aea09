"""Front client (Core API): conversations are the tickets.

Calls (reference §7e): ``GET /conversations/{id}`` (+ ``/inboxes`` for the group, and
``/messages`` and ``/comments``); ``POST /conversations/{id}/messages`` (a reply by the
bot teammate, ``author_id``) and ``/comments`` (an internal note); ``POST`` / ``DELETE
/conversations/{id}/tags`` ``{"tag_ids"}`` with names resolved by ``GET /tags`` / ``POST
/tags``; ``PATCH /conversations/{id}`` (``status``, ``inbox_id``) and ``PUT
/conversations/{id}/assignee``; ``GET /contacts/alt:email:{email}/conversations``.

New tickets: ``POST /inboxes/{inbox_id}/imported_messages`` (the customer's message,
imported into the configured inbox). Not ``POST /conversations``: that makes an internal
*discussion* with no customer, which the customer's conversation list never shows. Not
``POST /channels/{id}/incoming_messages``: that needs a custom API channel and files the
sender as a custom-channel contact rather than their e-mail contact. The import is
asynchronous (202 with a ``message_uid``), so the client then reads
``GET /messages/alt:uid:{uid}`` until the message exists, for its conversation.

No priority field: the priority is the tag ``priority_tag(p)`` (``supports_priority =
False``). Idempotency (no key on Front's writes, and no metadata on replies or comments):
replies, comments and imported messages carry the key's invisible marker (``key_marker``);
imports also send it as ``external_id`` and ``metadata.thread_ref``, so a repeated import
threads into the same conversation. Before a write, and before retrying one whose answer
was lost, the client looks for a message or comment carrying the marker.
"""

import asyncio
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx

from tools.context import Customer
from tools.errors import TicketingError
from tools.helpdesk_http import HelpdeskHttp, Sleep
from tools.retry import RetryPolicy
from tools.ticketing import front_parse as parse
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
from tools.ticketing.front_import import created_by_key, import_body, imported_conversation
from tools.ticketing.front_lookup import FrontReader, TagIds, path
from tools.ticketing.helpdesk_json import Json, at, ident, obj, opt_ident
from tools.ticketing.key_marker import with_marker
from tools.ticketing.tagging import tag_changes


@dataclass(frozen=True)
class FrontConfig:
    """``teammate_id`` (``tea_…``) is the bot: the author of replies and comments."""

    api_token: str = field(repr=False)
    teammate_id: str
    base_url: str = "https://api2.frontapp.com"
    inbox_id: str | None = None  # create_ticket imports the customer's message here…
    inbox_address: str | None = None  # …addressed to this handle of that inbox
    handoff_inbox_id: str | None = None  # hand-offs without a group move here
    handoff_teammate_id: str | None = None  # hand-offs without an assignee go to this teammate
    import_poll_s: float = 0.5  # wait between reads of an imported message not there yet
    import_poll_attempts: int = 10


class FrontClient(TicketingBackend):
    name = "front"
    supports_priority = False

    def __init__(
        self,
        config: FrontConfig,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = 10.0,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._http = HelpdeskHttp(
            "front",
            config.base_url,
            headers={"Authorization": f"Bearer {config.api_token}", "Accept": "application/json"},
            retry=retry,
            timeout_s=timeout_s,
            sleep=sleep,
            transport=transport,
        )
        self._reader = FrontReader(self._http, config.base_url)
        self._tags = TagIds(self._http, self._reader)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- reads ---------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        conv = await self._conversation(ticket_id)
        inboxes = await self._http.request("GET", f"{path(ticket_id)}/inboxes")
        listed = parse.results(inboxes, "inboxes")
        return parse.ticket(conv, opt_ident(listed[0].get("id")) if listed else None)

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        messages, comments = await self._reader.messages_and_comments(ticket_id)
        found = [*map(parse.from_message, messages), *map(parse.from_comment, comments)]
        found.sort(key=lambda c: c.created_at or "")
        return found

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        """Newest first, as Front lists them; ``group_id`` is left out (one call per inbox)."""
        if limit <= 0:
            return []
        return [
            parse.ticket(conv)
            for conv in await self._reader.customer_conversations(customer, limit)
        ]

    # --- writes --------------------------------------------------------------------
    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        async def earlier() -> Comment | None:
            return parse.marked(
                *await self._reader.messages_and_comments(ticket_id), idempotency_key
            )

        found = await earlier()
        if found is not None:
            return found
        payload = {
            "author_id": self._config.teammate_id,
            "body": with_marker(body, idempotency_key),
        }
        kind = "messages" if public else "comments"
        answer = await self._http.request(
            "POST", f"{path(ticket_id)}/{kind}", json_body=payload, already_applied=earlier
        )
        if isinstance(answer, Comment):
            return answer
        if not public:
            return parse.from_comment(obj(answer, "front comment"))
        # A reply is sent asynchronously (202, message_uid): read it back if it is there.
        uid = ident(obj(answer, "front reply").get("message_uid"), "front reply")
        return await earlier() or Comment(
            id=f"alt:uid:{uid}", body=body, public=True, author_id=self._config.teammate_id
        )

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        """Set operations only (status, inbox, assignee, tags): repeats change nothing."""
        await self._update(ticket_id, update)
        return await self.get_ticket(ticket_id)

    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        """The requester's message imported into ``inbox_id``: a conversation of theirs."""
        email, inbox_id, address = ticket.requester.email, *_import_target(self._config)
        if not email:
            raise TicketingError("front: create_ticket needs the requester's e-mail address")

        async def earlier() -> Json | None:
            found = await created_by_key(self._reader, ticket.requester, idempotency_key)
            return {"conversation_id": found} if found else None

        answer = await earlier() or await self._http.request(
            "POST",
            f"/inboxes/{quote(inbox_id, safe='')}/imported_messages",
            json_body=import_body(ticket, email, address, idempotency_key),
            already_applied=earlier,
        )
        answer = obj(answer, "front import")
        conversation_id = opt_ident(answer.get("conversation_id"))
        if conversation_id is None:
            uid = ident(answer.get("message_uid"), "front import")
            attempts, pause = self._config.import_poll_attempts, self._config.import_poll_s
            conversation_id = await imported_conversation(
                self._http, uid, attempts, pause, self._sleep
            )
        return await self.get_ticket(conversation_id)

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """Comment the summary, tag, reopen, move to the inbox; unassign unless one is named."""
        note = handoff_note(handoff)
        await self.comment(ticket_id, note, public=False, idempotency_key=f"{idempotency_key}:note")
        config = self._config
        update = handoff_update(handoff, config.handoff_teammate_id, config.handoff_inbox_id)
        await self._update(ticket_id, update, unassign=update.assignee_id is None)

    # --- helpers -------------------------------------------------------------------
    async def _conversation(self, conversation_id: str) -> Json:
        return parse.conversation(await self._http.request("GET", path(conversation_id)))

    async def _update(self, ticket_id: str, update: TicketUpdate, unassign: bool = False) -> None:
        conv = await self._conversation(ticket_id)
        patch: Json = {}
        if update.status is not None and _status_differs(conv, update.status):
            patch["status"] = _front_status(update.status)
        if update.group_id is not None:
            patch["inbox_id"] = update.group_id
        if patch:
            await self._http.request("PATCH", path(ticket_id), json_body=patch)
        current = opt_ident(at(conv, "assignee", "id"))
        wanted = update.assignee_id or (None if unassign else current)
        if wanted != current:
            body = {"assignee_id": wanted}
            await self._http.request("PUT", f"{path(ticket_id)}/assignee", json_body=body)
        await self._retag(conv, update)

    async def _retag(self, conv: Json, update: TicketUpdate) -> None:
        names = parse.tag_names(conv)
        changes = tag_changes(names, update.add_tags, update.remove_tags, update.priority)
        tags_path = f"{path(conv['id'])}/tags"
        if changes.add:
            ids = [await self._tags.of(name) for name in changes.add]
            await self._http.request("POST", tags_path, json_body={"tag_ids": ids})
        if changes.remove:
            by_name = {str(t.get("name")): ident(t.get("id"), "tag") for t in parse.tags(conv)}
            ids = [by_name[name] for name in changes.remove]

            async def applied() -> Json | None:  # a retry: were they removed after all?
                fresh = await self._conversation(str(conv["id"]))
                gone = not set(changes.remove) & set(parse.tag_names(fresh))
                return fresh if gone else None

            await self._http.request(
                "DELETE", tags_path, json_body={"tag_ids": ids}, already_applied=applied
            )


def _import_target(config: "FrontConfig") -> tuple[str, str]:
    if not (config.inbox_id and config.inbox_address):
        raise TicketingError("front: create_ticket needs inbox_id and inbox_address")
    return config.inbox_id, config.inbox_address


def _front_status(status: TicketStatus) -> str:
    return parse.ARCHIVED if status in (TicketStatus.SOLVED, TicketStatus.CLOSED) else "open"


def _status_differs(conv: Json, status: TicketStatus) -> bool:
    current = conv.get("status")
    if _front_status(status) == parse.ARCHIVED:
        return current != parse.ARCHIVED
    return current not in parse.OPEN_STATES
