"""The Front channel: an application webhook (helpdesk-webhooks reference §7).

``X-Front-Signature`` is base64(HMAC-SHA256(signing key, "{X-Front-Request-Timestamp}:" +
raw body)) under one of ``bot.channels.front.signing_keys``; the timestamp is in
milliseconds and must lie within ``tolerance_s`` of now, either way.

* ``sync`` (saving the webhook): verified like any delivery, then answered with
  ``{"challenge": <x-front-challenge>}``; nothing is queued;
* ``inbound_received``: a customer message (``payload.target.data``); in a conversation
  assigned to a teammate other than the bot (``bot.helpdesk.teammate_id``) a manual event
  goes first;
* ``outbound_sent``: a teammate answered (manual), unless the author is the bot;
* ``assignee_changed``: to a teammate, manual; to the bot, back to the bot (auto);
* ``conversation_archived`` / ``conversation_deleted``: manual (status), unless the bot did it;
* ``new_comment_added`` (internal) and every other event: acknowledged, ignored.

The dedupe id is ``payload.id`` (``evt_...``).
"""

from collections.abc import Mapping
from typing import Any

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
)
from agent.channels.html_text import html_to_text
from agent.channels.payload import load_json, parse
from agent.channels.sync_events import carries_deskhand_marker, owner_first, short_hash
from agent.config.botfile import BotConfig
from agent.config.helpdesk import FrontHelpdesk
from tools.context import Customer

SIGNATURE_HEADER = "X-Front-Signature"
TIMESTAMP_HEADER = "X-Front-Request-Timestamp"
CHALLENGE_HEADER = "X-Front-Challenge"
INBOUND, OUTBOUND, ASSIGNED = "inbound_received", "outbound_sent", "assignee_changed"
STATUS_EVENTS = {"conversation_archived": "archived", "conversation_deleted": "deleted"}
KNOWN_EVENTS = (INBOUND, OUTBOUND, ASSIGNED, *STATUS_EVENTS)
MAX_TEXT_CHARS = 100_000


class _Model(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)


class Teammate(_Model):
    id: str = Field(default="", max_length=64)
    email: str | None = Field(default=None, max_length=320)


class Recipient(_Model):
    handle: str = Field(default="", max_length=320)
    role: str = Field(default="", max_length=16)
    name: str | None = Field(default=None, max_length=300)


class Message(_Model):
    id: str = Field(min_length=1, max_length=64)
    type: str = Field(default="", max_length=32)
    is_inbound: bool = True
    author: Teammate | None = None
    subject: str | None = Field(default=None, max_length=1000)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    body: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    recipients: list[Recipient] = Field(default_factory=list, max_length=500)


class Meta(_Model):
    type: str = Field(default="", max_length=32)


class Resource(_Model):
    """``target`` or ``source``: ``_meta.type`` says what ``data`` is."""

    meta: Meta = Field(default_factory=Meta, alias="_meta")
    data: Any = None


class Conversation(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_:-]{1,64}$")
    status: str = Field(default="", max_length=32)
    assignee: Teammate | None = None


class Event(_Model):
    id: str = Field(min_length=1, max_length=128)
    conversation: Conversation
    target: Resource | None = None
    source: Resource | None = None


class Envelope(_Model):
    type: str = Field(max_length=64)
    payload: Event


class FrontChannel:
    name = "front"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.front
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no front channel")
        stamp = verify.header(headers, TIMESTAMP_HEADER).strip()
        verify.require_fresh(verify.unix_seconds(stamp, TIMESTAMP_HEADER, 1000), tolerance_s)
        signed = stamp.encode() + b":" + body
        given = verify.header(headers, SIGNATURE_HEADER)
        verify.require_hmac(config.secret_values(), signed, given, "sha256", "base64")
        data = load_json(body)
        if not isinstance(data, dict):
            raise PayloadInvalid("body: a JSON object is needed")
        kind = data.get("type")
        if kind == "sync":
            return challenge(headers, stamp)
        if kind not in KNOWN_EVENTS:
            return ignored_event(kind, data, body)
        return delivery_of(parse(Envelope, data), bot_teammate(bot))


def bot_teammate(bot: BotConfig) -> str:
    helpdesk = bot.helpdesk
    return helpdesk.teammate_id if isinstance(helpdesk, FrontHelpdesk) else ""


def challenge(headers: Mapping[str, str], stamp: str) -> Delivery:
    """Front's validation request: echo the challenge (the route queues nothing)."""
    value = verify.header(headers, CHALLENGE_HEADER)
    if not value:
        raise PayloadInvalid(f"a sync request needs the {CHALLENGE_HEADER} header", 400)
    return Delivery(f"sync:{stamp}", response={"challenge": value})


def ignored_event(kind: Any, data: dict[str, Any], body: bytes) -> Delivery:
    payload = data.get("payload")
    event_id = payload.get("id") if isinstance(payload, dict) else None
    fallback = short_hash(body.decode("utf-8", "replace"))
    delivery_id = event_id if isinstance(event_id, str) and event_id else fallback
    reasons = {"new_comment_added": "an internal comment"}
    reason = reasons.get(str(kind), f"event {str(kind)[:64]!r} is not acted on")
    return Delivery(delivery_id[:128], ignored=[Ignored(delivery_id[:128], reason)])


def delivery_of(envelope: Envelope, bot: str) -> Delivery:
    event = envelope.payload
    if envelope.type == INBOUND:
        return inbound(event, bot)
    if envelope.type == OUTBOUND:
        return outbound(event, bot)
    if envelope.type == ASSIGNED:
        return assignment(event, bot)
    return status_change(event, STATUS_EVENTS[envelope.type], bot)


def message_of(event: Event) -> Message:
    target = event.target
    if target is None or target.meta.type not in ("", "message"):
        raise PayloadInvalid("payload.target: a message is needed")
    return parse(Message, target.data)


def text_of(message: Message) -> str:
    return message.text if message.text is not None else html_to_text(message.body or "")


def inbound(event: Event, bot: str) -> Delivery:
    message = message_of(event)
    conversation = event.conversation
    customer_event = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=conversation.id,
        event_id=message.id,
        text=text_of(message),
        customer=customer_of(message),
        email=message.type == "email",
        subject=message.subject or "",
    )
    owner = conversation.assignee.id if conversation.assignee is not None else ""
    if owner and owner != bot:
        reason = f"assigned to {owner} in Front"
        return Delivery(event.id, owner_first(customer_event, ASSIGNMENT, reason))
    return Delivery(event.id, [customer_event])


def customer_of(message: Message) -> Customer:
    sender = next((r for r in message.recipients if r.role == "from" and r.handle), None)
    if sender is None:
        raise PayloadInvalid("payload.target.data.recipients: no sender (role 'from')")
    email = sender.handle if "@" in sender.handle else None
    return Customer(sender.handle, email, sender.name or None)


def outbound(event: Event, bot: str) -> Delivery:
    message = message_of(event)
    author = message.author.id if message.author is not None else ""
    if author == bot or carries_deskhand_marker(message.body or message.text or ""):
        return Delivery(event.id, ignored=[Ignored(message.id, "the bot's own message")])
    manual = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=event.conversation.id,
        event_id=message.id,
        text=text_of(message),
        reason="an agent replied in Front",
        cause=AGENT_REPLY,
    )
    return Delivery(event.id, [manual])


def assignee_of(event: Event) -> str:
    """The new assignee: the target teammate, else the conversation's assignee."""
    target = event.target
    if target is not None and target.meta.type == "teammate" and isinstance(target.data, dict):
        return parse(Teammate, target.data).id
    assignee = event.conversation.assignee
    return assignee.id if assignee is not None else ""


def assignment(event: Event, bot: str) -> Delivery:
    owner = assignee_of(event)
    conversation_id = event.conversation.id
    if not owner:
        return Delivery(event.id, ignored=[Ignored(event.id, "unassigned")])
    if owner == bot:
        reason = "assigned to the bot in Front"
        change = InboundEvent(EventKind.AUTO, conversation_id, event.id, reason=reason)
    else:
        reason = f"assigned to {owner} in Front"
        change = InboundEvent(
            EventKind.MANUAL, conversation_id, event.id, reason=reason, cause=ASSIGNMENT
        )
    return Delivery(event.id, [change])


def actor_of(event: Event) -> str:
    """The teammate who acted, where ``source`` names one."""
    source = event.source
    if source is None or source.meta.type != "teammate" or not isinstance(source.data, dict):
        return ""
    return parse(Teammate, source.data).id


def status_change(event: Event, status: str, bot: str) -> Delivery:
    if bot and actor_of(event) == bot:
        return Delivery(event.id, ignored=[Ignored(event.id, f"{status} by the bot")])
    reason = f"{status} in Front"
    change = InboundEvent(
        EventKind.MANUAL, event.conversation.id, event.id, reason=reason, cause=STATUS
    )
    return Delivery(event.id, [change])
