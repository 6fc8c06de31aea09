"""Intercom (API 2.14) JSON → the ticketing types: a conversation is a ticket.

Status: ``open`` → OPEN, ``snoozed`` → PENDING, ``closed`` → SOLVED (a closed conversation
reopens when the customer writes again, as a solved ticket does). Priority: 2.x only has
a read-only ``priority``/``not_priority`` flag, so the priority is the tag
``priority_tag(p)``; a conversation a person starred as ``priority`` without such a tag
reads as HIGH. The subject is the ``title``, else the e-mail subject, else the first line
of the opening message (the API takes no subject when a contact starts a conversation).
"""

import re
from html import unescape
from typing import Any

from tools.errors import HelpdeskResponseInvalid
from tools.ticketing.base import Comment, Ticket, TicketPriority, TicketStatus
from tools.ticketing.helpdesk_json import (
    Json,
    at,
    first_line,
    ident,
    items_or_empty,
    obj,
    opt_ident,
    opt_text,
    unix_to_iso,
)
from tools.ticketing.key_marker import has_marker, strip_markers
from tools.ticketing.tagging import priority_from_tags

_STATES = {"open": TicketStatus.OPEN, "snoozed": TicketStatus.PENDING}
_CUSTOMERS = ("user", "lead", "contact")
_VISIBLE_PARTS = {"comment": True, "note": False}
_TAG = re.compile(r"<[^>]+>")


def conversation(data: Any) -> Json:
    conv = obj(data, "intercom conversation")
    if conv.get("type") not in (None, "conversation"):
        raise HelpdeskResponseInvalid("intercom conversation: type is not 'conversation'")
    ident(conv.get("id"), "intercom conversation")
    return conv


def ticket(conv: Json) -> Ticket:
    tags = tag_names(conv)
    priority = priority_from_tags(tags)
    if priority is None and conv.get("priority") == "priority":
        priority = TicketPriority.HIGH
    author = obj(at(conv, "source", "author") or {}, "intercom source author")
    customer = author.get("type") in _CUSTOMERS
    return Ticket(
        id=ident(conv.get("id"), "intercom conversation"),
        subject=_subject(conv),
        status=_STATES.get(str(conv.get("state")), TicketStatus.SOLVED),
        priority=priority,
        requester_email=opt_text(author.get("email")) if customer else None,
        requester_id=_first_contact(conv) or (opt_ident(author.get("id")) if customer else None),
        tags=tags,
        assignee_id=admin_of(conv),
        group_id=team_of(conv),
        created_at=unix_to_iso(conv.get("created_at")),
        updated_at=unix_to_iso(conv.get("updated_at")),
    )


def tags(conv: Json) -> list[Json]:
    """The conversation's tags as ``{"id", "name"}`` objects."""
    return items_or_empty(at(conv, "tags", "tags") or [], "intercom conversation tags")


def tag_names(conv: Json) -> tuple[str, ...]:
    return tuple(str(tag["name"]) for tag in tags(conv) if opt_text(tag.get("name")))


def comments(conv: Json) -> list[Comment]:
    """The opening message, then the comment and note parts, oldest first."""
    found: list[Comment] = []
    source = at(conv, "source")
    if isinstance(source, dict) and opt_ident(source.get("id")):
        found.append(_comment({"created_at": conv.get("created_at"), **source}, public=True))
    for part in parts(conv):
        public = _VISIBLE_PARTS.get(str(part.get("part_type")))
        if public is not None:
            found.append(_comment(part, public=public))
    return found


def parts(conv: Json) -> list[Json]:
    raw = at(conv, "conversation_parts", "conversation_parts") or []
    return items_or_empty(raw, "intercom conversation parts")


def plain_text(html_body: str) -> str:
    text = re.sub(r"<br\s*/?>|</p>", "\n", html_body, flags=re.IGNORECASE)
    return unescape(_TAG.sub("", text))


def _comment(part: Json, public: bool) -> Comment:
    return Comment(
        id=ident(part.get("id"), "intercom conversation part"),
        body=strip_markers(str(part.get("body") or "")),
        public=public,
        author_id=opt_ident(at(part, "author", "id")),
        created_at=unix_to_iso(part.get("created_at")),
    )


def _subject(conv: Json) -> str:
    for candidate in (conv.get("title"), at(conv, "source", "subject")):
        if isinstance(candidate, str) and candidate.strip():
            return plain_text(candidate).strip()
    body = at(conv, "source", "body")
    return first_line(plain_text(strip_markers(body))) if isinstance(body, str) else ""


def admin_of(conv: Json) -> str | None:
    return _assignee(conv.get("admin_assignee_id"))


def team_of(conv: Json) -> str | None:
    return _assignee(conv.get("team_assignee_id"))


def _assignee(value: Any) -> str | None:
    """An admin or team id; Intercom reports "no one" as null or 0."""
    found = opt_ident(value)
    return None if found == "0" else found


def _first_contact(conv: Json) -> str | None:
    contacts = items_or_empty(
        at(conv, "contacts", "contacts") or [], "intercom conversation contacts"
    )
    return opt_ident(contacts[0].get("id")) if contacts else None


def marked_comment(conv: Json, key: str) -> Comment | None:
    """The opening message or part whose body carries the key's marker (check-before-write)."""
    source = at(conv, "source")
    candidates = [source] if isinstance(source, dict) else []
    for candidate in [*candidates, *parts(conv)]:
        if has_marker(opt_text(candidate.get("body")), key):
            public = candidate is source or candidate.get("part_type") != "note"
            return _comment(candidate, public=public)
    return None
