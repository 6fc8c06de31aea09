"""The intercom channel: an Intercom app's webhook notifications.

    POST /webhooks/{tenant}/intercom
    X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, raw body)>
    {"type": "notification_event", "id": "notif_...", "topic": "conversation.user.replied",
     "data": {"item": {"type": "conversation", "id": "123", ...}}}

Intercom signs the raw body with the app's ``client_secret`` (reference §4b); there is no
timestamp, so deliveries are deduplicated on the notification ``id``.

- ``conversation.user.created`` / ``conversation.user.replied``: a customer message (the
  opening ``source``, or the latest comment by a user or lead). In a conversation assigned
  to a person other than the bot's admin, or to a team, a ``manual`` event comes first.
- ``conversation.admin.replied``: a person's reply -> ``manual`` (the bot's own admin and
  Intercom's bots are ignored); ``conversation.admin.assigned`` -> ``manual`` (``auto`` when
  assigned back to the bot's admin); ``conversation.admin.closed`` -> ``manual`` (status).
- ``ping``, ``conversation.admin.noted`` (a note) and every other topic: acknowledged and
  ignored.
"""

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.channels.base import (
    AGENT_REPLY,
    ASSIGNMENT,
    STATUS,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    Ignored,
    InboundEvent,
)
from agent.channels.html_text import html_to_text
from agent.channels.payload import load_json, parse
from agent.channels.sync_events import carries_deskhand_marker, owner_first
from agent.channels.verify import header, require_hmac
from agent.config.botfile import BotConfig
from agent.config.helpdesk import IntercomHelpdesk
from tools.context import Customer

CUSTOMER_AUTHORS = ("user", "lead")
BOT_AUTHORS = ("bot",)
Outcome = InboundEvent | Ignored
IntercomId = str | int


class _Lenient(BaseModel):
    """Intercom sends many more fields than these: unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class IntercomAuthor(_Lenient):
    type: str
    id: IntercomId | None = None
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class IntercomPart(_Lenient):
    id: IntercomId
    part_type: str | None = None
    body: str | None = None
    author: IntercomAuthor | None = None
    assigned_to: IntercomAuthor | None = None


class IntercomSource(_Lenient):
    id: IntercomId
    type: str | None = None
    delivered_as: str | None = None
    subject: str | None = None
    body: str | None = None
    author: IntercomAuthor


class IntercomParts(_Lenient):
    conversation_parts: list[IntercomPart] = Field(default_factory=list)


class IntercomContact(_Lenient):
    id: IntercomId | None = None
    email: str | None = Field(default=None, max_length=320)


class IntercomContacts(_Lenient):
    contacts: list[IntercomContact] = Field(default_factory=list)


class IntercomConversation(_Lenient):
    id: IntercomId
    admin_assignee_id: IntercomId | None = None
    team_assignee_id: IntercomId | None = None
    source: IntercomSource | None = None
    contacts: IntercomContacts | list[IntercomContact] | None = None
    conversation_parts: IntercomParts | None = None

    def parts(self) -> list[IntercomPart]:
        return self.conversation_parts.conversation_parts if self.conversation_parts else []

    def contact_list(self) -> list[IntercomContact]:
        if isinstance(self.contacts, IntercomContacts):
            return self.contacts.contacts
        return self.contacts or []


class IntercomData(_Lenient):
    item: IntercomConversation


class IntercomNotification(_Lenient):
    id: str = Field(min_length=1, max_length=128)
    topic: str
    data: Any = None


class IntercomChannel:
    name = "intercom"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.intercom
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no intercom channel")
        given = header(headers, "X-Hub-Signature")
        require_hmac(config.secret_values(), body, given, "sha1", "hex", prefix="sha1=")
        notification = parse(IntercomNotification, load_json(body))
        outcomes = outcomes_of(notification, bot_admin_id(bot))
        return Delivery(
            delivery_id=notification.id,
            events=[o for o in outcomes if isinstance(o, InboundEvent)],
            ignored=[o for o in outcomes if isinstance(o, Ignored)],
        )


def bot_admin_id(bot: BotConfig) -> str | None:
    """The admin the bot replies as (the Intercom helpdesk section), if any."""
    helpdesk = bot.helpdesk
    return helpdesk.admin_id if isinstance(helpdesk, IntercomHelpdesk) else None


Parser = Callable[[str, IntercomConversation, str | None], list[Outcome]]


def outcomes_of(notification: IntercomNotification, admin_id: str | None) -> list[Outcome]:
    if notification.topic in ACKNOWLEDGED:
        return [Ignored(notification.id, ACKNOWLEDGED[notification.topic])]
    handler = TOPICS.get(notification.topic)
    if handler is None:
        reason = f"topic {notification.topic[:80]!r} is not acted on"
        return [Ignored(notification.id, reason)]
    conversation = parse(IntercomData, notification.data).item
    return handler(notification.id, conversation, admin_id)


def _ids_equal(value: IntercomId | None, other: str | None) -> bool:
    return value is not None and other is not None and str(value) == other


def _set(value: IntercomId | None) -> bool:
    return value is not None and str(value) not in ("", "0")


# --- customers ---------------------------------------------------------------------------
def user_created(notif_id: str, conv: IntercomConversation, admin_id: str | None) -> list[Outcome]:
    source = conv.source
    if source is None:
        return [Ignored(notif_id, "the new conversation has no opening message")]
    if source.author.type not in CUSTOMER_AUTHORS:
        return [Ignored(str(source.id), f"opened by a {source.author.type[:40]}, not a customer")]
    part = IntercomPart(id=source.id, part_type="comment", body=source.body, author=source.author)
    return customer_outcomes(conv, part, admin_id)


def user_replied(notif_id: str, conv: IntercomConversation, admin_id: str | None) -> list[Outcome]:
    part = latest_comment(conv, lambda author: author.type in CUSTOMER_AUTHORS)
    if part is None:
        return [Ignored(notif_id, "no customer comment in the notification")]
    return customer_outcomes(conv, part, admin_id)


def customer_outcomes(
    conv: IntercomConversation, part: IntercomPart, admin_id: str | None
) -> list[Outcome]:
    text = html_to_text(part.body or "")
    if not text:
        return [Ignored(str(part.id), "a message with no text (attachments only)")]
    source = conv.source
    email = bool(source and "email" in (source.type, source.delivered_as))
    event = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=str(conv.id),
        event_id=str(part.id),
        text=text,
        customer=customer_of(conv, part.author, email),
        email=email,
        subject=(source.subject or "") if source and email else "",
    )
    owner = other_owner(conv, admin_id)
    if owner is None:
        return [event]
    return list(owner_first(event, ASSIGNMENT, f"the conversation is assigned to {owner}"))


def customer_of(conv: IntercomConversation, author: IntercomAuthor | None, email: bool) -> Customer:
    """The part's author (the contact). A lead's e-mail is whatever the visitor typed in
    the messenger: it is kept only for users and e-mail-sourced messages."""
    if author is None or author.id is None:
        return Customer(id="")
    contact_id = str(author.id)
    address = author.email or next(
        (c.email for c in conv.contact_list() if str(c.id) == contact_id and c.email), None
    )
    trusted = author.type == "user" or email
    return Customer(id=contact_id, email=address if trusted else None, name=author.name)


def other_owner(conv: IntercomConversation, admin_id: str | None) -> str | None:
    """Who owns the conversation when it is not the bot (None: the bot may answer)."""
    if _set(conv.team_assignee_id):
        return f"team {conv.team_assignee_id}"
    admin = conv.admin_assignee_id
    if _set(admin) and not _ids_equal(admin, admin_id):
        return f"admin {admin}"
    return None


def latest_comment(
    conv: IntercomConversation, by: Callable[[IntercomAuthor], bool]
) -> IntercomPart | None:
    for part in reversed(conv.parts()):
        if part.part_type == "comment" and part.author is not None and by(part.author):
            return part
    return None


# --- people ------------------------------------------------------------------------------
def is_bot(author: IntercomAuthor, admin_id: str | None) -> bool:
    return author.type in BOT_AUTHORS or _ids_equal(author.id, admin_id)


def admin_replied(notif_id: str, conv: IntercomConversation, admin_id: str | None) -> list[Outcome]:
    part = latest_comment(conv, lambda author: author.type in ("admin", "bot"))
    if part is None or part.author is None:
        return [Ignored(notif_id, "no admin comment in the notification")]
    if is_bot(part.author, admin_id) or carries_deskhand_marker(part.body or ""):
        return [Ignored(str(part.id), "the bot's own reply")]
    return [
        InboundEvent(
            kind=EventKind.MANUAL,
            conversation_id=str(conv.id),
            event_id=str(part.id),
            text=html_to_text(part.body or ""),
            reason="an agent replied in Intercom",
            cause=AGENT_REPLY,
        )
    ]


def admin_assigned(
    notif_id: str, conv: IntercomConversation, admin_id: str | None
) -> list[Outcome]:
    owner = other_owner(conv, admin_id)
    if owner is not None:
        reason = f"assigned to {owner} in Intercom"
        return [_manual(notif_id, conv, reason, ASSIGNMENT)]
    if _ids_equal(conv.admin_assignee_id, admin_id):
        back = InboundEvent(
            kind=EventKind.AUTO,
            conversation_id=str(conv.id),
            event_id=notif_id,
            reason="assigned back to the bot's admin in Intercom",
        )
        return [back]
    return [Ignored(notif_id, "unassigned: no one took the conversation")]


def admin_closed(notif_id: str, conv: IntercomConversation, admin_id: str | None) -> list[Outcome]:
    closer = next((p.author for p in reversed(conv.parts()) if p.part_type == "close"), None)
    if closer is not None and is_bot(closer, admin_id):
        return [Ignored(notif_id, "closed by the bot")]
    return [_manual(notif_id, conv, "closed in Intercom", STATUS)]


def _manual(event_id: str, conv: IntercomConversation, reason: str, cause: str) -> InboundEvent:
    return InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=str(conv.id),
        event_id=event_id,
        reason=reason,
        cause=cause,
    )


TOPICS: dict[str, Parser] = {
    "conversation.user.created": user_created,
    "conversation.user.replied": user_replied,
    "conversation.admin.replied": admin_replied,
    "conversation.admin.assigned": admin_assigned,
    "conversation.admin.closed": admin_closed,
}
ACKNOWLEDGED = {
    "ping": "a ping (Intercom checks the subscription)",
    "conversation.admin.noted": "an internal note",
}
