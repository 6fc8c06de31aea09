"""The Chatwoot channel: an Agent Bot's webhook (or an API inbox's, or an account webhook).

    POST /webhooks/{tenant}/chatwoot
    X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "{X-Chatwoot-Timestamp}.{body}")>
    X-Chatwoot-Timestamp: <unix seconds>      X-Chatwoot-Delivery: <uuid, same on retries>

Verification (helpdesk-webhooks reference §1b): a signed delivery must match one of
``bot.channels.chatwoot.secrets`` within ``tolerance_s`` of now, either way. Instances
older than bot signing, or bots with no secret, send no signature: such a delivery passes
only with a configured ``?token=`` URL token. With no secrets configured, signature
headers cannot be checked and the URL token is what authenticates.

Events (§1a, §1c):

* ``message_created``: an incoming, public message from a contact is the customer's; in a
  conversation that is not ``pending`` (pending: the bot owns it) a manual event goes in
  front of it. An outgoing public message from a user (a person) is an agent reply: the bot
  goes silent. The bot's own messages (sender ``agent_bot``, or carrying deskhand's
  invisible idempotency marker, as every message deskhand posts does), private notes,
  activity and template messages are ignored.
* ``conversation_status_changed`` / ``conversation_opened`` / ``conversation_updated``:
  back to ``pending`` gives the conversation back to the bot; any other status, or an
  agent or team assigned, means a person has it.
* ``message_updated`` (an edit of a message already received), ``conversation_resolved``,
  ``webwidget_triggered`` and anything else: acknowledged and ignored.

The dedupe id is ``X-Chatwoot-Delivery``, else the event and the message id (a hash of
the body for conversation events).
"""

import hashlib
from collections.abc import Mapping
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
from agent.config.channels import ChatwootChannelConfig
from tools.context import Customer

SIGNATURE = "X-Chatwoot-Signature"
TIMESTAMP = "X-Chatwoot-Timestamp"
DELIVERY = "X-Chatwoot-Delivery"
BOT_OWNS = "pending"  # the status of a conversation in the agent bot's queue
OWNER_EVENTS = ("conversation_status_changed", "conversation_opened", "conversation_updated")
OWNER_FIELDS = frozenset({"status", "assignee_id", "team_id"})
EMAIL_CHANNEL = "Channel::Email"
BACK_TO_BOT = "the conversation is pending again in Chatwoot (the bot's queue)"
MAX_TEXT_CHARS = 100_000

ChatwootId = Annotated[str, Field(pattern=r"^[0-9]{1,20}$")]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
Short = Annotated[str, Field(max_length=500)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)


class ChatwootPerson(_Model):
    """A message's sender, or a conversation's assignee or team."""

    id: ChatwootId | None = None
    type: Short | None = None  # contact, user, agent_bot (a team has none)
    name: Short | None = None
    email: Short | None = None


class ChatwootMeta(_Model):
    assignee: ChatwootPerson | None = None
    team: ChatwootPerson | None = None


class ChatwootConversation(_Model):
    id: ChatwootId  # the display id: what the REST paths take
    status: Short | None = None
    channel: Short | None = None
    meta: ChatwootMeta = Field(default_factory=ChatwootMeta)
    additional_attributes: dict[str, Any] | None = None


class ChatwootMessage(_Model):
    event: Short
    id: ChatwootId
    content: Text | None = None
    message_type: Short
    private: bool = False
    sender: ChatwootPerson | None = None
    conversation: ChatwootConversation
    content_attributes: dict[str, Any] | None = None


class ChatwootConversationEvent(ChatwootConversation):
    event: Short
    changed_attributes: list[Any] | dict[str, Any] | None = None


class ChatwootChannel:
    name = "chatwoot"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.chatwoot
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no chatwoot channel")
        authenticate(config, headers, body, tolerance_s, query)
        return delivery_of(load_json(body), body, verify.header(headers, DELIVERY))


# --- verification --------------------------------------------------------------------------
def authenticate(
    config: ChatwootChannelConfig,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int,
    query: Mapping[str, str],
) -> None:
    """The signature where the delivery is signed and secrets are configured, else the URL
    token; SignatureInvalid otherwise."""
    signed = bool(verify.header(headers, SIGNATURE) or verify.header(headers, TIMESTAMP))
    if signed and config.secrets:
        require_signature(config.secret_values(), headers, body, tolerance_s)
        return
    if verify.url_token_matches(config.url_token_values(), query):
        return
    if not config.url_tokens:
        raise SignatureInvalid(f"the delivery is not signed: the {SIGNATURE} header is missing")
    given = "does not match" if query.get("token") else "is missing"
    raise SignatureInvalid(f"the delivery is not signed and its ?token= URL token {given}")


def require_signature(
    secrets: tuple[str, ...], headers: Mapping[str, str], body: bytes, tolerance_s: int
) -> None:
    stamp = verify.header(headers, TIMESTAMP)
    seconds = verify.unix_seconds(stamp, TIMESTAMP)
    signed = stamp.encode() + b"." + body
    verify.require_hmac(
        secrets, signed, verify.header(headers, SIGNATURE), "sha256", "hex", prefix="sha256="
    )
    verify.require_fresh(seconds, tolerance_s)


# --- parsing -------------------------------------------------------------------------------
def delivery_of(data: Any, body: bytes, delivery_header: str) -> Delivery:
    event = event_name(data)
    if event == "message_created":
        message = parse(ChatwootMessage, data)
        events, ignored = message_events(message)
        return Delivery(delivery_header or f"{event}:{message.id}", events, ignored)
    fallback = f"{event}:{hashlib.sha256(body).hexdigest()[:32]}"
    delivery_id = delivery_header or fallback
    if event in OWNER_EVENTS:
        conversation = parse(ChatwootConversationEvent, data)
        event_id = f"{conversation.id}.{fallback}"
        found = owner_event(conversation, event_id)
        if isinstance(found, Ignored):
            return Delivery(delivery_id, ignored=[found])
        return Delivery(delivery_id, [found])
    return Delivery(delivery_id, ignored=[Ignored(fallback, ignored_event_reason(event))])


def event_name(data: Any) -> str:
    if not isinstance(data, dict):
        raise PayloadInvalid("invalid payload: a Chatwoot event is a JSON object")
    event = data.get("event")
    if not isinstance(event, str) or not event or len(event) > 100:
        raise PayloadInvalid("invalid payload: event: a Chatwoot event name is required")
    return event


def ignored_event_reason(event: str) -> str:
    if event == "message_updated":
        return "message_updated: an edit of a message already received"
    return f"Chatwoot event {event!r} is not acted on"


def message_events(message: ChatwootMessage) -> tuple[list[InboundEvent], list[Ignored]]:
    why = ignore_reason(message)
    if why:
        return [], [Ignored(message.id, why)]
    if message.message_type == "outgoing":
        return [agent_reply(message)], []
    return customer_events(message), []


def ignore_reason(message: ChatwootMessage) -> str:
    """Why ``message`` is not acted on ('' when it is)."""
    sender_type = message.sender.type if message.sender else None
    if message.private:
        return "a private note"
    if message.message_type == "outgoing":
        if sender_type == "agent_bot" or carries_deskhand_marker(message.content or ""):
            return "the bot's own message"
        if sender_type != "user":
            return "an automatic outgoing message (no person wrote it)"
        return ""
    if message.message_type != "incoming":
        return f"a message of type {message.message_type!r}, not a customer's"
    if sender_type != "contact" or message.sender is None or message.sender.id is None:
        return "an incoming message that is not from a contact"
    return ""


def customer_events(message: ChatwootMessage) -> list[InboundEvent]:
    conversation = message.conversation
    sender = message.sender or ChatwootPerson()
    event = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=conversation.id,
        event_id=message.id,
        text=message.content or "",
        customer=Customer(sender.id or "", sender.email, sender.name),
        email=conversation.channel == EMAIL_CHANNEL,
        subject=email_subject(message),
        auto_submitted=email_detail(message).get("auto_reply") is True,
    )
    if conversation.status in (None, BOT_OWNS):
        return [event]
    cause, reason = ownership(conversation)
    return owner_first(event, cause, reason)


def agent_reply(message: ChatwootMessage) -> InboundEvent:
    return InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=message.conversation.id,
        event_id=message.id,
        text=message.content or "",
        reason="an agent replied in Chatwoot",
        cause=AGENT_REPLY,
    )


def owner_event(conversation: ChatwootConversationEvent, event_id: str) -> InboundEvent | Ignored:
    """What a conversation event says about who owns the conversation."""
    changed = changed_fields(conversation.changed_attributes)
    if conversation.event == "conversation_updated" and changed and not changed & OWNER_FIELDS:
        return Ignored(event_id, "a conversation update that changes no status or assignee")
    if conversation.status is None and conversation.event != "conversation_opened":
        raise PayloadInvalid("invalid payload: status: the conversation's status is required")
    status_changed = conversation.event != "conversation_updated" or "status" in changed
    if conversation.status == BOT_OWNS:
        if status_changed:
            return InboundEvent(EventKind.AUTO, conversation.id, event_id, reason=BACK_TO_BOT)
        if not (conversation.meta.assignee or conversation.meta.team):
            return Ignored(event_id, "still pending and unassigned: the bot's")
    cause, reason = ownership(conversation)
    return InboundEvent(EventKind.MANUAL, conversation.id, event_id, reason=reason, cause=cause)


def ownership(conversation: ChatwootConversation) -> tuple[str, str]:
    """The cause and reason of a manual event for a conversation the bot does not own."""
    status = conversation.status or "open"
    holder = conversation.meta.assignee or conversation.meta.team
    if holder is None:
        return STATUS, f"the conversation is {status} in Chatwoot"
    kind = "agent" if holder is conversation.meta.assignee else "team"
    who = holder.name or holder.id or "unknown"
    return ASSIGNMENT, f"the conversation is {status} in Chatwoot, assigned to {kind} {who}"


def changed_fields(changed: list[Any] | dict[str, Any] | None) -> set[str]:
    """The attribute names of ``changed_attributes`` (a list of one-key objects, or one object)."""
    if isinstance(changed, dict):
        return set(changed)
    return {name for item in changed or [] if isinstance(item, dict) for name in item}


def email_detail(message: ChatwootMessage) -> dict[str, Any]:
    detail = (message.content_attributes or {}).get("email")
    return detail if isinstance(detail, dict) else {}


def email_subject(message: ChatwootMessage) -> str:
    attributes = message.conversation.additional_attributes or {}
    for subject in (email_detail(message).get("subject"), attributes.get("mail_subject")):
        if isinstance(subject, str) and subject:
            return subject[:500]
    return ""
