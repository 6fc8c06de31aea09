"""The Zendesk channel: a Zendesk Support webhook connected to event subscriptions.

    POST /webhooks/{tenant}/zendesk
    X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(signing secret, timestamp + body))
    X-Zendesk-Webhook-Signature-Timestamp: 2026-03-02T09:00:00Z
    X-Zendesk-Webhook-Invocation-Id: <the dedupe id>

Verification (helpdesk-webhooks reference §2b): the signature must match one of
``bot.channels.zendesk.signing_secrets``, and the signed ISO-8601 timestamp must lie within
``tolerance_s`` of now, either way (Zendesk documents no window: this is ours).

Only the event-subscription envelope is read (``type`` ``zen:event-type:…``, ``id``,
``detail`` = the ticket, ``event``); a trigger-connected webhook's custom body is not a
supported shape (422). Events (§2c):

* ``ticket.comment_added``: a public comment by an end user is the customer's (a manual
  event goes first when the ticket is assigned to a person); a public comment by staff is
  an agent reply (the bot goes silent), unless it is the bot's own: its author is one of
  ``bot_author_ids`` or the helpdesk section's ``bot_agent_id``, or it carries deskhand's
  invisible idempotency marker. Private comments (internal notes) are ignored.
* ``ticket.agent_assignment_changed`` / ``ticket.group_assignment_changed``: assigned to a
  person or a group, a person has it; assigned to the bot's agent, it is the bot's again.
* ``ticket.status_changed`` to solved or closed: a person closed it.

Changes the bot's own user made (``detail.actor_id``) and every other event type are
acknowledged and ignored. The dedupe id is ``X-Zendesk-Webhook-Invocation-Id``, else the
event's ``id``.
"""

import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agent.channels import verify
from agent.channels.base import (
    AGENT_REPLY,
    ASSIGNMENT,
    STATUS,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    Ignored,
    InboundEvent,
    PayloadInvalid,
    SignatureInvalid,
)
from agent.channels.payload import load_json, parse
from agent.channels.sync_events import carries_deskhand_marker, owner_first
from agent.config.botfile import BotConfig
from agent.config.helpdesk import ZendeskHelpdesk
from tools.context import Customer

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
INVOCATION = "X-Zendesk-Webhook-Invocation-Id"
EVENT_TYPE = "zen:event-type:ticket."
COMMENT_ADDED = EVENT_TYPE + "comment_added"
AGENT_ASSIGNED = EVENT_TYPE + "agent_assignment_changed"
GROUP_ASSIGNED = EVENT_TYPE + "group_assignment_changed"
STATUS_CHANGED = EVENT_TYPE + "status_changed"
CLOSED_STATUSES = ("solved", "closed")
MAX_TEXT_CHARS = 100_000

ZendeskId = Annotated[str, Field(pattern=r"^[0-9]{1,24}$")]
EventId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
Short = Annotated[str, Field(max_length=1000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)


class ZendeskVia(_Model):
    channel: Short | None = None


class ZendeskTicket(_Model):
    """The envelope's ``detail``: the ticket as it is after the event."""

    id: ZendeskId
    requester_id: ZendeskId | None = None
    assignee_id: ZendeskId | None = None
    actor_id: ZendeskId | None = None
    status: Short | None = None
    subject: Short | None = None
    via: ZendeskVia | None = None


class ZendeskAuthor(_Model):
    id: ZendeskId
    is_staff: bool = False
    name: Short | None = None


class ZendeskComment(_Model):
    id: ZendeskId
    body: Annotated[str, Field(max_length=MAX_TEXT_CHARS)] | None = None
    is_public: bool
    author: ZendeskAuthor


class ZendeskCommentEvent(_Model):
    comment: ZendeskComment


class ZendeskChange(_Model):
    """The ``event`` of a field change: the value after, and before."""

    current: Short | None = None
    previous: Short | None = None


class ZendeskEnvelope(_Model):
    type: Short
    id: EventId
    detail: ZendeskTicket
    event: dict[str, Any]


class ZendeskChannel:
    name = "zendesk"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.zendesk
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no zendesk channel")
        require_signature(config.secret_values(), headers, body, tolerance_s)
        bot_ids = frozenset((*config.bot_author_ids, *helpdesk_bot_ids(bot)))
        return delivery_of(load_json(body), body, verify.header(headers, INVOCATION), bot_ids)


def helpdesk_bot_ids(bot: BotConfig) -> tuple[str, ...]:
    helpdesk = bot.helpdesk
    if isinstance(helpdesk, ZendeskHelpdesk) and helpdesk.bot_agent_id:
        return (helpdesk.bot_agent_id,)
    return ()


# --- verification --------------------------------------------------------------------------
def require_signature(
    secrets: tuple[str, ...], headers: Mapping[str, str], body: bytes, tolerance_s: int
) -> None:
    stamp = verify.header(headers, TIMESTAMP)
    seconds = iso_seconds(stamp)
    signed = stamp.encode() + body
    verify.require_hmac(secrets, signed, verify.header(headers, SIGNATURE), "sha256", "base64")
    verify.require_fresh(seconds, tolerance_s)


def iso_seconds(value: str) -> float:
    """The signed ISO-8601 timestamp as unix seconds (UTC when it names no offset)."""
    if not value:
        raise SignatureInvalid(f"the {TIMESTAMP} header is missing")
    try:
        if not value.isascii() or len(value) > 64:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise SignatureInvalid(f"the {TIMESTAMP} header is not an ISO-8601 time") from None


# --- parsing -------------------------------------------------------------------------------
Handler = Callable[[ZendeskEnvelope, frozenset[str]], InboundEvent | list[InboundEvent] | Ignored]


def delivery_of(data: Any, body: bytes, invocation: str, bot_ids: frozenset[str]) -> Delivery:
    kind = event_type(data)
    handler = HANDLERS.get(kind)
    if handler is None:
        fallback = f"zendesk:{hashlib.sha256(body).hexdigest()[:32]}"
        delivery_id = invocation or fallback
        return Delivery(delivery_id, ignored=[Ignored(delivery_id, f"{kind!r} is not acted on")])
    envelope = parse(ZendeskEnvelope, data)
    delivery_id = invocation or envelope.id
    actor = envelope.detail.actor_id
    if kind != COMMENT_ADDED and actor is not None and actor in bot_ids:
        return Delivery(delivery_id, ignored=[Ignored(envelope.id, "a change the bot made")])
    found = handler(envelope, bot_ids)
    if isinstance(found, Ignored):
        return Delivery(delivery_id, ignored=[found])
    return Delivery(delivery_id, found if isinstance(found, list) else [found])


def event_type(data: Any) -> str:
    kind = data.get("type") if isinstance(data, dict) else None
    if not isinstance(kind, str) or not kind.startswith("zen:event-type:"):
        raise PayloadInvalid(
            "invalid payload: type: a Zendesk event-subscription event (zen:event-type:…) is "
            "required; trigger-connected webhooks with a custom body are not supported"
        )
    return kind


def comment_added(
    envelope: ZendeskEnvelope, bot_ids: frozenset[str]
) -> list[InboundEvent] | Ignored:
    comment = parse(ZendeskCommentEvent, envelope.event).comment
    author, text = comment.author, comment.body or ""
    if not comment.is_public:
        return Ignored(comment.id, "a private comment (an internal note)")
    if author.id in bot_ids or (author.is_staff and carries_deskhand_marker(text)):
        return Ignored(comment.id, "the bot's own comment")
    ticket = envelope.detail
    if author.is_staff:
        return [agent_reply(ticket.id, comment.id, text)]
    message = customer_message(ticket, comment)
    if ticket.assignee_id is None or ticket.assignee_id in bot_ids:
        return [message]
    reason = f"the ticket is assigned to agent {ticket.assignee_id} in Zendesk"
    return owner_first(message, ASSIGNMENT, reason)


def agent_reply(ticket_id: str, comment_id: str, text: str) -> InboundEvent:
    reason = "an agent replied in Zendesk"
    return InboundEvent(
        EventKind.MANUAL, ticket_id, comment_id, text, reason=reason, cause=AGENT_REPLY
    )


def customer_message(ticket: ZendeskTicket, comment: ZendeskComment) -> InboundEvent:
    author = comment.author
    requester = ticket.requester_id or author.id
    name = author.name if author.id == requester else None
    channel = (ticket.via.channel if ticket.via else None) or ""
    return InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=ticket.id,
        event_id=comment.id,
        text=comment.body or "",
        customer=Customer(requester, None, name),
        email=channel.lower() == "email",
        subject=ticket.subject or "",
    )


def agent_assigned(envelope: ZendeskEnvelope, bot_ids: frozenset[str]) -> InboundEvent | Ignored:
    assignee = parse(ZendeskChange, envelope.event).current
    ticket_id = envelope.detail.id
    if not assignee:
        return Ignored(envelope.id, "the ticket was unassigned")
    if assignee in bot_ids:
        reason = "the ticket was assigned to the bot's agent in Zendesk"
        return InboundEvent(EventKind.AUTO, ticket_id, envelope.id, reason=reason)
    reason = f"the ticket was assigned to agent {assignee} in Zendesk"
    return InboundEvent(EventKind.MANUAL, ticket_id, envelope.id, reason=reason, cause=ASSIGNMENT)


def group_assigned(envelope: ZendeskEnvelope, bot_ids: frozenset[str]) -> InboundEvent | Ignored:
    group = parse(ZendeskChange, envelope.event).current
    if not group:
        return Ignored(envelope.id, "the ticket was removed from its group")
    reason = f"the ticket was assigned to group {group} in Zendesk"
    ticket_id = envelope.detail.id
    return InboundEvent(EventKind.MANUAL, ticket_id, envelope.id, reason=reason, cause=ASSIGNMENT)


def status_changed(envelope: ZendeskEnvelope, bot_ids: frozenset[str]) -> InboundEvent | Ignored:
    status = (parse(ZendeskChange, envelope.event).current or "").lower()
    if status not in CLOSED_STATUSES:
        return Ignored(envelope.id, f"status {status or 'unknown'}: the bot may still answer")
    reason = f"the ticket was {status} in Zendesk"
    ticket_id = envelope.detail.id
    return InboundEvent(EventKind.MANUAL, ticket_id, envelope.id, reason=reason, cause=STATUS)


HANDLERS: dict[str, Handler] = {
    COMMENT_ADDED: comment_added,
    AGENT_ASSIGNED: agent_assigned,
    GROUP_ASSIGNED: group_assigned,
    STATUS_CHANGED: status_changed,
}
