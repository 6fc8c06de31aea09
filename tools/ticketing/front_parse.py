"""Front (Core API) JSON → the ticketing types: a conversation is a ticket.

Status: with ticket statuses enabled, ``status_category`` decides (``open`` → OPEN,
``waiting`` → PENDING, ``resolved`` → SOLVED); otherwise ``archived`` → SOLVED (it reopens
on the next message), ``deleted``/``spam`` → CLOSED, ``assigned``/``unassigned`` → OPEN.
Front has no priority: it is the tag ``priority_tag(p)``. Messages are public comments,
comments are private notes. The group is the conversation's inbox.
"""

from typing import Any

from tools.ticketing.base import Comment, Ticket, TicketStatus
from tools.ticketing.helpdesk_json import (
    Json,
    at,
    ident,
    items_or_empty,
    obj,
    opt_ident,
    opt_text,
    unix_to_iso,
)
from tools.ticketing.key_marker import has_marker, strip_markers
from tools.ticketing.tagging import priority_from_tags

_CATEGORIES = {
    "open": TicketStatus.OPEN,
    "waiting": TicketStatus.PENDING,
    "resolved": TicketStatus.SOLVED,
}
_STATUSES = {
    "archived": TicketStatus.SOLVED,
    "deleted": TicketStatus.CLOSED,
    "spam": TicketStatus.CLOSED,
}
ARCHIVED = "archived"
OPEN_STATES = ("assigned", "unassigned")


def conversation(data: Any) -> Json:
    conv = obj(data, "front conversation")
    ident(conv.get("id"), "front conversation")
    return conv


def results(page: Any, what: str) -> list[Json]:
    return items_or_empty(obj(page, f"front {what} page").get("_results"), f"front {what}")


def next_page(page: Any) -> str | None:
    return opt_text(at(obj(page, "front page"), "_pagination", "next"))


def ticket(conv: Json, inbox_id: str | None = None) -> Ticket:
    tags = tag_names(conv)
    recipient = at(conv, "recipient") or {}
    handle = opt_text(at(recipient, "handle"))
    return Ticket(
        id=ident(conv.get("id"), "front conversation"),
        subject=opt_text(conv.get("subject")) or "",
        status=_status(conv),
        priority=priority_from_tags(tags),
        requester_email=handle if handle and "@" in handle else None,
        requester_id=last_segment(at(recipient, "_links", "related", "contact")),
        tags=tags,
        assignee_id=opt_ident(at(conv, "assignee", "id")),
        group_id=inbox_id,
        created_at=unix_to_iso(conv.get("created_at")),
        updated_at=unix_to_iso(conv.get("updated_at")),
    )


def tags(conv: Json) -> list[Json]:
    return items_or_empty(conv.get("tags"), "front conversation tags")


def tag_names(conv: Json) -> tuple[str, ...]:
    return tuple(name for tag in tags(conv) if (name := opt_text(tag.get("name"))))


def from_message(message: Json) -> Comment:
    return Comment(
        id=ident(message.get("id"), "front message"),
        body=strip_markers(opt_text(message.get("body")) or opt_text(message.get("text")) or ""),
        public=True,
        author_id=opt_ident(at(message, "author", "id")),
        created_at=unix_to_iso(message.get("created_at")),
    )


def from_comment(comment: Json) -> Comment:
    return Comment(
        id=ident(comment.get("id"), "front comment"),
        body=strip_markers(opt_text(comment.get("body")) or ""),
        public=False,
        author_id=opt_ident(at(comment, "author", "id")),
        created_at=unix_to_iso(comment.get("posted_at")),
    )


def marked(messages: list[Json], comments: list[Json], key: str) -> Comment | None:
    for message in messages:
        if has_marker(opt_text(message.get("body")) or opt_text(message.get("text")), key):
            return from_message(message)
    for comment in comments:
        if has_marker(opt_text(comment.get("body")), key):
            return from_comment(comment)
    return None


def message_conversation_id(message: Any) -> str:
    link = at(obj(message, "front message"), "_links", "related", "conversation")
    return ident(last_segment(link), "front message's conversation link")


def last_segment(url: Any) -> str | None:
    text = opt_text(url)
    return text.rstrip("/").rsplit("/", 1)[-1] or None if text else None


def _status(conv: Json) -> TicketStatus:
    category = conv.get("status_category")
    if isinstance(category, str) and category in _CATEGORIES:
        return _CATEGORIES[category]
    return _STATUSES.get(str(conv.get("status")), TicketStatus.OPEN)
