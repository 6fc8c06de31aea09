"""The Help Scout channel: Mailbox webhooks (helpdesk-webhooks reference §6).

``X-HelpScout-Signature`` is base64(HMAC-SHA1(secret, raw body)), under one of
``bot.channels.helpscout.secrets``; the event name comes in ``X-HelpScout-Event`` and
the body is the v2 Conversation object, its threads embedded (newest first).

* ``convo.created`` / ``convo.customer.reply.created``: the newest ``customer`` thread is
  a customer message (HTML body as text); in a conversation assigned to a person other
  than the bot's user (``bot.helpdesk.user_id``) a manual event goes first;
* ``convo.agent.reply.created``: a person answered (manual), unless the newest ``message``
  thread is the bot's own (its user, or deskhand's invisible marker in the body);
* ``convo.assigned``: to a person, manual; to the bot's user, back to the bot (auto);
* ``convo.status``: closed or spam, manual;
* ``helpscout.test``, ``convo.note.created`` and every other event: acknowledged, ignored.

Help Scout sends no delivery id: the dedupe id is conversation id, thread id and event.
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
from agent.config.helpdesk import HelpScoutHelpdesk
from tools.context import Customer

SIGNATURE_HEADER = "X-HelpScout-Signature"
EVENT_HEADER = "X-HelpScout-Event"
CUSTOMER_EVENTS = ("convo.created", "convo.customer.reply.created")
AGENT_REPLY_EVENT = "convo.agent.reply.created"
ASSIGNED_EVENT = "convo.assigned"
STATUS_EVENT = "convo.status"
KNOWN_EVENTS = (*CUSTOMER_EVENTS, AGENT_REPLY_EVENT, ASSIGNED_EVENT, STATUS_EVENT)
STATUSES_AWAY = ("closed", "spam")
MAX_TEXT_CHARS = 100_000


class _Model(BaseModel):
    model_config = ConfigDict(coerce_numbers_to_str=True)


class Person(_Model):
    id: str = Field(default="", max_length=64)
    type: str = Field(default="", max_length=32)
    email: str | None = Field(default=None, max_length=320)
    first: str | None = Field(default=None, max_length=200)
    last: str | None = Field(default=None, max_length=200)


class Thread(_Model):
    id: str = Field(min_length=1, max_length=64)
    type: str = Field(default="", max_length=32)
    body: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    createdBy: Person | None = None
    createdAt: str = Field(default="", max_length=64)


class Embedded(_Model):
    threads: list[Thread] = Field(default_factory=list, max_length=1000)


class Conversation(_Model):
    id: str = Field(pattern=r"^\d{1,20}$")
    type: str = Field(default="", max_length=32)
    status: str = Field(default="", max_length=32)
    subject: str | None = Field(default=None, max_length=1000)
    primaryCustomer: Person | None = None
    assignee: Person | None = None
    embedded: Embedded = Field(default_factory=Embedded, alias="_embedded")


class HelpScoutChannel:
    name = "helpscout"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.helpscout
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no helpscout channel")
        given = verify.header(headers, SIGNATURE_HEADER)
        verify.require_hmac(config.secret_values(), body, given, "sha1", "base64")
        event = verify.header(headers, EVENT_HEADER).strip()
        if not event:
            raise PayloadInvalid(f"the {EVENT_HEADER} header is missing", status_code=400)
        data = load_json(body)
        if event not in KNOWN_EVENTS:
            return ignored_event(event, data)
        return delivery_of(event, parse(Conversation, data), bot_user(bot))


def bot_user(bot: BotConfig) -> str:
    helpdesk = bot.helpdesk
    return (helpdesk.user_id or "") if isinstance(helpdesk, HelpScoutHelpdesk) else ""


def ignored_event(event: str, data: Any) -> Delivery:
    """Acknowledged, not acted on: the test event, notes, tags and unknown events."""
    conversation = data.get("id") if isinstance(data, dict) else None
    delivery_id = f"{short_hash(str(conversation))}:{short_hash(event)}"
    reasons = {"helpscout.test": "Help Scout's test event", "convo.note.created": "a note"}
    reason = reasons.get(event, f"event {event[:64]!r} is not acted on")
    return Delivery(delivery_id, ignored=[Ignored(delivery_id, reason)])


def delivery_of(event: str, conv: Conversation, bot: str) -> Delivery:
    if event in CUSTOMER_EVENTS:
        return customer_delivery(event, conv, bot)
    if event == AGENT_REPLY_EVENT:
        return agent_reply(event, conv, bot)
    if event == ASSIGNED_EVENT:
        return assignment(event, conv, bot)
    return status_change(event, conv)


def newest(conv: Conversation, kinds: tuple[str, ...] = ()) -> Thread | None:
    """The newest thread (of one of ``kinds``); Help Scout lists them newest first."""
    threads = [t for t in conv.embedded.threads if not kinds or t.type in kinds]
    if not threads:
        return None
    return max(threads, key=lambda thread: thread.createdAt)  # the first of equals


def dedupe_id(event: str, conv: Conversation, thread: Thread | None) -> str:
    """Conversation, thread and event; a change of owner or status also names the new one
    (the newest thread may be the same for two changes)."""
    thread_id = thread.id if thread is not None else "-"
    if event in (ASSIGNED_EVENT, STATUS_EVENT):
        return f"{conv.id}:{thread_id}:{event}:{short_hash(conv.status, assignee_of(conv))}"
    return f"{conv.id}:{thread_id}:{event}"


def customer_delivery(event: str, conv: Conversation, bot: str) -> Delivery:
    thread = newest(conv, ("customer",))
    delivery_id = dedupe_id(event, conv, thread)
    if thread is None:
        return Delivery(delivery_id, ignored=[Ignored(delivery_id, "no customer thread")])
    message = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=conv.id,
        event_id=thread.id,
        text=html_to_text(thread.body or ""),
        customer=customer_of(conv, thread),
        email=conv.type == "email",
        subject=conv.subject or "",
    )
    owner = assignee_of(conv)
    if owner and owner != bot:
        reason = f"assigned to user {owner} in Help Scout"
        return Delivery(delivery_id, owner_first(message, ASSIGNMENT, reason))
    return Delivery(delivery_id, [message])


def customer_of(conv: Conversation, thread: Thread) -> Customer:
    person = conv.primaryCustomer or thread.createdBy
    if person is None or not (person.id or person.email):
        raise PayloadInvalid("primaryCustomer: the customer's id or email is needed")
    names = [part for part in (person.first, person.last) if part]
    return Customer(person.id or str(person.email), person.email, " ".join(names) or None)


def assignee_of(conv: Conversation) -> str:
    return conv.assignee.id if conv.assignee is not None else ""


def agent_reply(event: str, conv: Conversation, bot: str) -> Delivery:
    thread = newest(conv, ("message",))
    delivery_id = dedupe_id(event, conv, thread)
    if thread is None:
        return Delivery(delivery_id, ignored=[Ignored(delivery_id, "no agent reply thread")])
    author = thread.createdBy.id if thread.createdBy is not None else ""
    if (bot and author == bot) or carries_deskhand_marker(thread.body or ""):
        return Delivery(delivery_id, ignored=[Ignored(thread.id, "the bot's own reply")])
    manual = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=conv.id,
        event_id=thread.id,
        text=html_to_text(thread.body or ""),
        reason="an agent replied in Help Scout",
        cause=AGENT_REPLY,
    )
    return Delivery(delivery_id, [manual])


def assignment(event: str, conv: Conversation, bot: str) -> Delivery:
    delivery_id = dedupe_id(event, conv, newest(conv))
    owner = assignee_of(conv)
    if not owner:
        return Delivery(delivery_id, ignored=[Ignored(delivery_id, "unassigned")])
    if owner == bot:
        change = InboundEvent(
            EventKind.AUTO, conv.id, delivery_id, reason="assigned to the bot in Help Scout"
        )
    else:
        reason = f"assigned to user {owner} in Help Scout"
        change = InboundEvent(
            EventKind.MANUAL, conv.id, delivery_id, reason=reason, cause=ASSIGNMENT
        )
    return Delivery(delivery_id, [change])


def status_change(event: str, conv: Conversation) -> Delivery:
    delivery_id = dedupe_id(event, conv, newest(conv))
    if conv.status not in STATUSES_AWAY:
        reason = f"status {conv.status[:32]!r} keeps the bot"
        return Delivery(delivery_id, ignored=[Ignored(delivery_id, reason)])
    reason = f"status changed to {conv.status} in Help Scout"
    change = InboundEvent(EventKind.MANUAL, conv.id, delivery_id, reason=reason, cause=STATUS)
    return Delivery(delivery_id, [change])
