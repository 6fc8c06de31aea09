"""Help Scout (Mailbox API 2.0) JSON → the ticketing types: a conversation is a ticket.

Status: ``active`` → OPEN, ``pending`` → PENDING, ``closed`` → SOLVED (it reopens when the
customer writes again), ``spam`` → CLOSED. Help Scout has no priority: it is the tag
``priority_tag(p)``. Threads: ``customer``, ``message`` (an agent's reply), ``chat`` and
``phone`` are public, ``note`` is private; line items and forwards are not comments.
"""

from typing import Any

from tools.ticketing.base import Comment, Ticket, TicketStatus
from tools.ticketing.helpdesk_json import Json, at, ident, items_or_empty, obj, opt_ident, opt_text
from tools.ticketing.key_marker import has_marker, strip_markers
from tools.ticketing.tagging import priority_from_tags

_STATUSES = {
    "active": TicketStatus.OPEN,
    "open": TicketStatus.OPEN,
    "pending": TicketStatus.PENDING,
    "closed": TicketStatus.SOLVED,
    "spam": TicketStatus.CLOSED,
}
_PUBLIC_THREADS = {"customer", "message", "reply", "chat", "phone"}
STATUS_FOR = {
    TicketStatus.NEW: "active",
    TicketStatus.OPEN: "active",
    TicketStatus.PENDING: "pending",
    TicketStatus.SOLVED: "closed",
    TicketStatus.CLOSED: "closed",
}


def conversation(data: Any) -> Json:
    conv = obj(data, "helpscout conversation")
    ident(conv.get("id"), "helpscout conversation")
    return conv


def ticket(conv: Json) -> Ticket:
    tags = tag_names(conv)
    return Ticket(
        id=ident(conv.get("id"), "helpscout conversation"),
        subject=opt_text(conv.get("subject")) or "",
        status=_STATUSES.get(str(conv.get("status")), TicketStatus.OPEN),
        priority=priority_from_tags(tags),
        requester_email=opt_text(at(conv, "primaryCustomer", "email")),
        requester_id=opt_ident(at(conv, "primaryCustomer", "id")),
        tags=tags,
        assignee_id=opt_ident(at(conv, "assignee", "id")),
        group_id=opt_ident(conv.get("mailboxId")),
        url=opt_text(at(conv, "_links", "web", "href")),
        created_at=opt_text(conv.get("createdAt")),
        updated_at=opt_text(conv.get("userUpdatedAt")),
    )


def tag_names(conv: Json) -> tuple[str, ...]:
    tags = items_or_empty(conv.get("tags"), "helpscout conversation tags")
    return tuple(name for tag in tags if (name := opt_text(tag.get("tag"))))


def embedded(page: Any, kind: str) -> list[Json]:
    """``_embedded.<kind>`` of a HAL page (absent when the page is empty)."""
    return items_or_empty(
        at(obj(page, f"helpscout {kind} page"), "_embedded", kind), f"helpscout {kind}"
    )


def total_pages(page: Any) -> int:
    pages = at(obj(page, "helpscout page"), "page", "totalPages")
    return pages if isinstance(pages, int) else 1


def comments(threads: list[Json]) -> list[Comment]:
    found = [comment for thread in threads if (comment := _comment(thread)) is not None]
    found.sort(key=lambda c: (c.created_at or "", int(c.id) if c.id.isdigit() else 0))
    return found


def marked_comment(threads: list[Json], key: str) -> Comment | None:
    for thread in threads:
        if has_marker(opt_text(thread.get("body")), key):
            return _comment(thread)
    return None


def _comment(thread: Json) -> Comment | None:
    kind = thread.get("type")
    if kind != "note" and kind not in _PUBLIC_THREADS:
        return None
    return Comment(
        id=ident(thread.get("id"), "helpscout thread"),
        body=strip_markers(opt_text(thread.get("body")) or ""),
        public=kind != "note",
        author_id=opt_ident(at(thread, "createdBy", "id")),
        created_at=opt_text(thread.get("createdAt")),
    )
