"""Chatwoot API v1 JSON ↔ the ticketing types. A conversation is a ticket.

Statuses: Chatwoot's ``pending`` means the bot owns the conversation (no person has it
yet), so it reads as NEW; ``open`` (people) is OPEN; ``snoozed`` (set aside until the
customer writes or a time passes) is PENDING; ``resolved`` is SOLVED. Chatwoot has no
"closed": CLOSED is written as ``resolved`` and read back as SOLVED. Priorities: ``low``,
``medium`` (NORMAL), ``high``, ``urgent``; ``none``/null is no priority.

Messages: ``message_type`` is a number in REST answers (0 incoming, 1 outgoing, 2 activity,
3 template) and a word in webhooks; both are read. Activity messages ("resolved by …")
are not comments. A comment's author is the contact's id as is (the ticket's
``requester_id`` space) and ``user:<id>`` / ``agent_bot:<id>`` for everyone else, because
contacts and users are numbered separately.
"""

from typing import Any

from tools.errors import HelpdeskResponseInvalid
from tools.ticketing.base import Comment, Ticket, TicketPriority, TicketStatus
from tools.ticketing.helpdesk_json import (
    Json,
    at,
    ident,
    number,
    obj,
    opt_ident,
    opt_text,
    strings,
    unix_to_iso,
)
from tools.ticketing.key_marker import digest, has_marker, strip_markers

STATUS_TO_CHATWOOT = {
    TicketStatus.NEW: "pending",
    TicketStatus.OPEN: "open",
    TicketStatus.PENDING: "snoozed",
    TicketStatus.SOLVED: "resolved",
    TicketStatus.CLOSED: "resolved",
}
STATUS_FROM_CHATWOOT = {
    "pending": TicketStatus.NEW,
    "open": TicketStatus.OPEN,
    "snoozed": TicketStatus.PENDING,
    "resolved": TicketStatus.SOLVED,
}
PRIORITY_TO_CHATWOOT = {
    TicketPriority.LOW: "low",
    TicketPriority.NORMAL: "medium",
    TicketPriority.HIGH: "high",
    TicketPriority.URGENT: "urgent",
}
PRIORITY_FROM_CHATWOOT = {word: name for name, word in PRIORITY_TO_CHATWOOT.items()}
KEY_ATTRIBUTE = "deskhand_key"
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


def to_ticket(data: Any, conversation_url: str) -> Ticket:
    """``conversation_url``: the dashboard address, ``{id}`` standing for the conversation."""
    conversation = obj(data, "chatwoot conversation")
    conversation_id = ident(conversation.get("id"), "chatwoot conversation")
    status = conversation.get("status")
    if not isinstance(status, str):
        raise HelpdeskResponseInvalid("chatwoot conversation: status is not a string")
    last_activity = conversation.get("last_activity_at") or conversation.get("timestamp")
    return Ticket(
        id=conversation_id,
        subject=opt_text(at(conversation, "additional_attributes", "mail_subject")) or "",
        status=STATUS_FROM_CHATWOOT.get(status, TicketStatus.OPEN),
        priority=PRIORITY_FROM_CHATWOOT.get(str(conversation.get("priority"))),
        requester_email=opt_text(at(conversation, "meta", "sender", "email")),
        requester_id=opt_ident(at(conversation, "meta", "sender", "id")),
        tags=strings(conversation.get("labels"), "chatwoot conversation labels"),
        assignee_id=opt_ident(at(conversation, "meta", "assignee", "id")),
        group_id=opt_ident(at(conversation, "meta", "team", "id")),
        url=conversation_url.format(id=conversation_id),
        created_at=unix_to_iso(conversation.get("created_at")),
        updated_at=unix_to_iso(last_activity),
    )


def to_comment(data: Any) -> Comment:
    message = obj(data, "chatwoot message")
    return Comment(
        id=ident(message.get("id"), "chatwoot message"),
        body=strip_markers(opt_text(message.get("content")) or ""),
        public=not message.get("private"),
        author_id=_author(message.get("sender")),
        created_at=unix_to_iso(message.get("created_at")),
    )


def kind(message: Json) -> str:
    """incoming, outgoing, activity or template (a number or a word on the wire)."""
    value = message.get("message_type")
    return MESSAGE_TYPES.get(value, "") if isinstance(value, int) else str(value)


def is_comment(message: Json) -> bool:
    return kind(message) in ("incoming", "outgoing", "template")


def find_message(messages: list[Json], key: str, public: bool) -> Json | None:
    """Our earlier outgoing reply (or private note) carrying the key's marker."""
    for message in messages:
        ours = kind(message) == "outgoing" and bool(message.get("private")) is not public
        if ours and has_marker(opt_text(message.get("content")), key):
            return message
    return None


def find_conversation(conversations: list[Json], key: str) -> Json | None:
    """The conversation created with ``key`` (its ``additional_attributes`` name it)."""
    token = digest(key)
    for conversation in conversations:
        if at(conversation, "additional_attributes", KEY_ATTRIBUTE) == token:
            return conversation
    return None


def new_conversation_body(inbox_id: int, contact_id: int, subject: str, key: str) -> Json:
    attributes = {"mail_subject": subject, KEY_ATTRIBUTE: digest(key)}
    return {"inbox_id": inbox_id, "contact_id": contact_id, "additional_attributes": attributes}


def contact_with_email(contacts: list[Json], email: str) -> Json | None:
    """Contact search matches names and phone numbers too: keep the exact e-mail only."""
    wanted = email.casefold()
    for contact in contacts:
        found = opt_text(contact.get("email"))
        if found is not None and found.casefold() == wanted:
            return contact
    return None


def newest_first(conversations: list[Json]) -> list[Json]:
    return sorted(
        conversations,
        key=lambda c: (number(c.get("created_at")), number(c.get("id"))),
        reverse=True,
    )


def _author(sender: Any) -> str | None:
    if not isinstance(sender, dict):
        return None
    sender_id = opt_ident(sender.get("id"))
    sender_type = opt_text(sender.get("type"))
    if sender_id is None or sender_type in (None, "contact"):
        return sender_id
    return f"{sender_type}:{sender_id}"
