"""Chatwoot (REST API v1) as a ticketing backend: a conversation is a ticket.

Auth: the ``api_access_token`` header (see "The token" below). Calls, under
``/api/v1/accounts/{account}``: ``GET/POST /conversations[/{id}]``, ``GET/POST
/conversations/{id}/messages`` (``message_type: outgoing``, ``private`` for a note),
``POST …/toggle_status``, ``POST …/toggle_priority``, ``GET/POST …/labels`` (a POST
REPLACES the label set, so labels are always merged with the current ones first),
``POST …/assignments`` (``team_id`` or ``assignee_id``), ``GET /contacts/search?q=``,
``POST /contacts`` and ``GET /contacts/{id}/conversations``.

The token: an agent-bot token may only write (messages, status, priority, assignments;
labels and ``GET conversation`` on recent versions) and is refused on every read this
client needs: messages (``list_comments`` and every check-before-write), contacts and
their conversations. So the client needs a user's access token (an administrator's, or an
agent's: opening a conversation with an agent's token may assign it to that agent, which
``hand_off`` undoes).

Creating a ticket needs ``inbox_id`` (where the conversation opens) and the customer's
e-mail (the contact is found, or created in that inbox) or a Chatwoot contact id as the
customer's id. The subject goes in ``additional_attributes.mail_subject``; the body is
posted as a private note, because an outgoing message would be sent to the customer.

Idempotency (Chatwoot has no idempotency key), check-before-write:

- messages: the API keeps no attribute of ours on a message (``content_attributes`` is
  filtered to Chatwoot's own keys, ``source_id`` would stop delivery to the channel), so
  the key travels in the content as the invisible zero-width marker of ``key_marker``.
  Before posting, and before a retry whose answer was lost, the messages are searched for
  it. (On SMS inboxes those characters make a message UCS-2 encoded: fewer characters per
  segment.)
- conversations: ``additional_attributes.deskhand_key`` (stored verbatim) holds the key's
  digest; the contact's conversations are searched for it.
- status, priority, labels (merged) and assignments set absolute values: repeating them
  changes nothing.
"""

import asyncio
from dataclasses import dataclass, field

import httpx

from tools.context import Customer
from tools.errors import TicketingError, TicketNotFound
from tools.helpdesk_http import Sleep
from tools.retry import RetryPolicy
from tools.ticketing import chatwoot_wire as wire
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketStatus,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.chatwoot_api import ChatwootApi
from tools.ticketing.helpdesk_json import Json, ident, is_number, reference_number
from tools.ticketing.key_marker import with_marker


@dataclass(frozen=True)
class ChatwootConfig:
    """``base_url``: the Chatwoot host, e.g. ``https://chat.acme.com``.

    ``handoff_team_id``: the team a hand-off routes to when the hand-off names none.
    ``inbox_id``: where ``create_ticket`` opens conversations (required for it only).
    """

    base_url: str
    account_id: int
    access_token: str = field(repr=False)
    handoff_team_id: int | None = None
    inbox_id: int | None = None
    timeout_s: float = 10.0


class ChatwootClient(TicketingBackend):
    name = "chatwoot"

    def __init__(
        self,
        config: ChatwootConfig,
        *,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._api = ChatwootApi(
            config.base_url,
            config.account_id,
            config.access_token,
            timeout_s=config.timeout_s,
            retry=retry,
            sleep=sleep,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._api.aclose()

    # --- reads -------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        return self._ticket(await self._api.conversation(ticket_id))

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        messages = await self._api.messages(ticket_id)
        return [wire.to_comment(m) for m in messages if wire.is_comment(m)]

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        contact = await self._find_contact(customer)
        if contact is None or limit <= 0:
            return []
        try:
            found = await self._api.contact_conversations(contact)
        except TicketNotFound:  # a customer id that is no contact here
            return []
        return [self._ticket(c) for c in wire.newest_first(found)[:limit]]

    # --- writes ------------------------------------------------------------------
    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        """A conversation in ``inbox_id`` with the body as a private note, labels, priority."""
        inbox = self._config.inbox_id
        if inbox is None:
            raise TicketingError("creating a Chatwoot conversation needs ChatwootConfig.inbox_id")
        contact = await self._find_contact(ticket.requester)
        if contact is None:
            contact = await self._create_contact(ticket.requester, inbox)
        conversation = await self._ensure_conversation(
            inbox, contact, ticket.subject, idempotency_key
        )
        ticket_id = ident(conversation.get("id"), "chatwoot conversation")
        await self.comment(ticket_id, ticket.body, False, f"{idempotency_key}:body")
        await self._api.merge_labels(ticket_id, ticket.tags, ())
        if ticket.priority is not None:
            await self._api.set_priority(ticket_id, wire.PRIORITY_TO_CHATWOOT[ticket.priority])
        return await self.get_ticket(ticket_id)

    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        found = wire.find_message(await self._api.messages(ticket_id), idempotency_key, public)
        if found is None:

            async def applied() -> Json | None:
                now = await self._api.messages(ticket_id)
                return wire.find_message(now, idempotency_key, public)

            content = with_marker(body, idempotency_key)
            found = await self._api.post_message(ticket_id, content, not public, applied)
        return wire.to_comment(found)

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        team = _optional_number(update.group_id, "team id")
        agent = _optional_number(update.assignee_id, "agent id")
        if update.status is not None:
            await self._api.set_status(ticket_id, wire.STATUS_TO_CHATWOOT[update.status])
        if update.priority is not None:
            await self._api.set_priority(ticket_id, wire.PRIORITY_TO_CHATWOOT[update.priority])
        await self._api.merge_labels(ticket_id, update.add_tags, update.remove_tags)
        # The team first: a team change unassigns an agent who is not in the team.
        if team is not None:
            await self._api.assign(ticket_id, "team_id", team)
        if agent is not None:
            await self._api.assign(ticket_id, "assignee_id", agent)
        return await self.get_ticket(ticket_id)

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """Note the summary, label, ``open`` it (the bot gives the conversation up), then
        route it: to the named agent, else unassigned (opening may have assigned it to the
        token's user or an inbox agent) and to the team, whose auto-assignment, where
        enabled, picks a member."""
        team_id = handoff.group_id or self._config.handoff_team_id
        team = _optional_number(None if team_id is None else str(team_id), "team id")
        agent = _optional_number(handoff.assignee_id, "agent id")
        await self.comment(ticket_id, handoff_note(handoff), False, f"{idempotency_key}:note")
        await self._api.merge_labels(ticket_id, handoff.tags, ())
        if handoff.priority is not None:
            await self._api.set_priority(ticket_id, wire.PRIORITY_TO_CHATWOOT[handoff.priority])
        await self._api.set_status(ticket_id, wire.STATUS_TO_CHATWOOT[TicketStatus.OPEN])
        if agent is None:
            await self._api.assign(ticket_id, "assignee_id", None)
        if team is not None:
            await self._api.assign(ticket_id, "team_id", team)
        if agent is not None:
            await self._api.assign(ticket_id, "assignee_id", agent)

    # --- helpers -----------------------------------------------------------------
    def _ticket(self, data: object) -> Ticket:
        base = self._config.base_url.rstrip("/")
        url = f"{base}/app/accounts/{self._config.account_id}/conversations/{{id}}"
        return wire.to_ticket(data, url)

    async def _ensure_conversation(
        self, inbox_id: int, contact: int, subject: str, key: str
    ) -> Json:
        try:
            earlier = await self._api.contact_conversations(contact)
        except TicketNotFound:
            raise TicketingError(f"Chatwoot has no contact {contact}") from None
        found = wire.find_conversation(earlier, key)
        if found is not None:
            return found

        async def applied() -> Json | None:
            return wire.find_conversation(await self._api.contact_conversations(contact), key)

        body = wire.new_conversation_body(inbox_id, contact, subject, key)
        return await self._api.create_conversation(body, applied)

    async def _find_contact(self, customer: Customer) -> int | None:
        """By e-mail (exact match), else the customer's id when it is a contact id."""
        if not customer.email:
            return int(customer.id) if is_number(customer.id) else None
        return await self._api.contact_with_email(customer.email)

    async def _create_contact(self, customer: Customer, inbox_id: int) -> int:
        if not customer.email:
            raise TicketingError("a new Chatwoot contact needs the customer's e-mail")
        return await self._api.create_contact(
            inbox_id, customer.name or customer.email, customer.email
        )


def _optional_number(value: str | None, what: str) -> int | None:
    return None if value is None else reference_number(value, what)
