"""Freshdesk API v2 JSON ↔ the ticketing types: statuses, priorities, tickets, conversations.

Statuses: 2 open, 3 pending, 4 resolved, 5 closed. Freshdesk has no "new" (a new ticket
is open), so NEW is written as 2 and read back as OPEN; custom statuses (6 and up) mean
what only the account knows and are read as OPEN. Priorities: 1 low, 2 medium, 3 high,
4 urgent. Bodies are HTML: we send escaped paragraphs and read ``body_text`` back.
"""

import html
import re
from typing import Any

from tools.context import Customer
from tools.errors import HelpdeskResponseInvalid
from tools.ticketing.base import (
    Comment,
    NewTicket,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
)
from tools.ticketing.helpdesk_json import (
    Json,
    at,
    ident,
    is_number,
    number,
    obj,
    opt_ident,
    opt_text,
    reference_number,
    strings,
)
from tools.ticketing.key_marker import has_marker, strip_markers, with_marker
from tools.ticketing.tagging import tag_changes

STATUS_TO_FRESHDESK = {
    TicketStatus.NEW: 2,
    TicketStatus.OPEN: 2,
    TicketStatus.PENDING: 3,
    TicketStatus.SOLVED: 4,
    TicketStatus.CLOSED: 5,
}
STATUS_FROM_FRESHDESK = {
    2: TicketStatus.OPEN,
    3: TicketStatus.PENDING,
    4: TicketStatus.SOLVED,
    5: TicketStatus.CLOSED,
}
PRIORITY_TO_FRESHDESK = {
    TicketPriority.LOW: 1,
    TicketPriority.NORMAL: 2,
    TicketPriority.HIGH: 3,
    TicketPriority.URGENT: 4,
}
PRIORITY_FROM_FRESHDESK = {number: name for name, number in PRIORITY_TO_FRESHDESK.items()}

_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>|</p>|</div>", re.IGNORECASE)


def body_html(body: str, key: str) -> str:
    """Plain text as escaped HTML paragraphs; the key's invisible marker ends the last one."""
    marked = with_marker(body.strip(), key)
    paragraphs = [p for p in re.split(r"\n\s*\n", marked) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )


def html_to_text(value: str) -> str:
    without_comments = re.sub(r"<!--.*?-->", "", value, flags=re.DOTALL)
    return html.unescape(_TAG.sub("", _BREAK.sub("\n", without_comments))).strip()


# --- requests ------------------------------------------------------------------------
def requester_filter(customer: Customer) -> dict[str, str | int] | None:
    """Freshdesk finds a requester by e-mail, else by contact id (the customer's id)."""
    if customer.email:
        return {"email": customer.email}
    if is_number(customer.id):
        return {"requester_id": int(customer.id)}
    return None


def new_ticket_body(ticket: NewTicket, requester: dict[str, str | int], key: str) -> Json:
    priority = PRIORITY_TO_FRESHDESK[ticket.priority] if ticket.priority else 1
    body: Json = {
        "subject": ticket.subject,
        "description": body_html(ticket.body, key),
        "status": 2,
        "priority": priority,
        **requester,
    }
    if ticket.requester.name and "email" in requester:
        body["name"] = ticket.requester.name
    if ticket.tags:
        body["tags"] = list(dict.fromkeys(ticket.tags))
    return body


def comment_body(body: str, public: bool, key: str) -> Json:
    """A reply (``/reply``: public, e-mailed) or a note (``/notes``: private)."""
    payload: Json = {"body": body_html(body, key)}
    if not public:
        payload["private"] = True
    return payload


def update_body(update: TicketUpdate, current: Json) -> Json:
    """The PUT body for ``update``; tags are the whole new set (a PUT replaces them)."""
    changes: Json = {}
    if update.status is not None:
        changes["status"] = STATUS_TO_FRESHDESK[update.status]
    if update.priority is not None:
        changes["priority"] = PRIORITY_TO_FRESHDESK[update.priority]
    have = tags_of(current)
    tags = tag_changes(have, update.add_tags, update.remove_tags)
    if tags:
        changes["tags"] = list(tags.result(have))
    if update.assignee_id is not None:
        changes["responder_id"] = reference_number(update.assignee_id, "agent id")
    if update.group_id is not None:
        changes["group_id"] = reference_number(update.group_id, "group id")
    return changes


# --- check-before-write ----------------------------------------------------------------
def find_comment(
    conversations: list[Json], key: str, body: str, public: bool, after: int | None
) -> Json | None:
    """Our earlier reply or note: it carries the key's marker or, when ``after`` is given
    (a retry), it is newer than ``after`` with the same words."""
    for conversation in conversations:
        if not is_kind(conversation, public):
            continue
        if _carries(conversation, key, "body", "body_text"):
            return conversation
        newer = after is not None and number_of(conversation) > after
        if newer and conversation_text(conversation).split() == body.split():
            return conversation
    return None


def find_ticket(tickets: list[Json], key: str, subject: str, after: int | None) -> Json | None:
    """Our earlier ticket: its description carries the marker or, on a retry, it is newer
    than ``after`` with the same subject."""
    for ticket in tickets:
        if _carries(ticket, key, "description", "description_text"):
            return ticket
        if after is not None and number_of(ticket) > after and ticket.get("subject") == subject:
            return ticket
    return None


# --- answers ---------------------------------------------------------------------------
def to_ticket(data: Any, base_url: str, requester_email: str | None = None) -> Ticket:
    ticket = obj(data, "freshdesk ticket")
    ticket_id = ident(ticket.get("id"), "freshdesk ticket")
    subject = ticket.get("subject")
    if not isinstance(subject, str):
        raise HelpdeskResponseInvalid("freshdesk ticket: subject is not a string")
    return Ticket(
        id=ticket_id,
        subject=subject,
        status=_status(ticket.get("status")),
        priority=_priority(ticket.get("priority")),
        requester_email=opt_text(at(ticket, "requester", "email")) or requester_email,
        requester_id=opt_ident(ticket.get("requester_id")),
        tags=tags_of(ticket),
        assignee_id=opt_ident(ticket.get("responder_id")),
        group_id=opt_ident(ticket.get("group_id")),
        url=f"{base_url.rstrip('/')}/a/tickets/{ticket_id}",
        created_at=opt_text(ticket.get("created_at")),
        updated_at=opt_text(ticket.get("updated_at")),
    )


def to_comment(data: Any) -> Comment:
    """A conversation (our reply or note, or the customer's message), marker removed."""
    conversation = obj(data, "freshdesk conversation")
    return Comment(
        id=ident(conversation.get("id"), "freshdesk conversation"),
        body=conversation_text(conversation),
        public=not conversation.get("private", False),
        author_id=opt_ident(conversation.get("user_id")),
        created_at=opt_text(conversation.get("created_at")),
    )


def description_comment(data: Any) -> Comment:
    """The ticket's description as its first comment (Freshdesk keeps it off the list of
    conversations); id ``<ticket id>:description``."""
    ticket = obj(data, "freshdesk ticket")
    ticket_id = ident(ticket.get("id"), "freshdesk ticket")
    text = ticket.get("description_text")
    if not isinstance(text, str):
        text = html_to_text(str(ticket.get("description") or ""))
    return Comment(
        id=f"{ticket_id}:description",
        body=strip_markers(text).strip(),
        public=True,
        author_id=opt_ident(ticket.get("requester_id")),
        created_at=opt_text(ticket.get("created_at")),
    )


def conversation_text(conversation: Json) -> str:
    plain = conversation.get("body_text")
    if not isinstance(plain, str):
        plain = html_to_text(str(conversation.get("body") or ""))
    return strip_markers(plain).strip()


def is_kind(conversation: Json, public: bool) -> bool:
    """A public reply we post (not private, not incoming) or a private note."""
    if public:
        return not conversation.get("private") and not conversation.get("incoming")
    return bool(conversation.get("private"))


def tags_of(ticket: Json) -> tuple[str, ...]:
    return strings(ticket.get("tags"), "freshdesk ticket tags")


def number_of(item: Json) -> int:
    """The item's numeric id (ids only grow, so a higher id is a later item)."""
    return number(item.get("id"))


def _carries(item: Json, key: str, *fields: str) -> bool:
    return any(has_marker(opt_text(item.get(name)), key) for name in fields)


def _status(value: Any) -> TicketStatus:
    if isinstance(value, bool) or not isinstance(value, int):
        raise HelpdeskResponseInvalid("freshdesk ticket: status is not a number")
    return STATUS_FROM_FRESHDESK.get(value, TicketStatus.OPEN)


def _priority(value: Any) -> TicketPriority | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return PRIORITY_FROM_FRESHDESK.get(value)
