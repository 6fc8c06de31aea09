"""Zendesk Support JSON: the documented request bodies, the answers read defensively, and
the status and priority maps both ways.

Zendesk ids are integers: an id that is not all digits never reaches a path (a ticket that
does not exist) or a body (refused before sending). Zendesk's ``hold`` reads as PENDING.
Comment bodies read back lose the invisible idempotency marker (``key_marker``).
"""

from collections.abc import Mapping
from typing import Any

from tools.errors import HelpdeskRejected, HelpdeskResponseInvalid, TicketNotFound
from tools.ticketing.base import (
    Comment,
    NewTicket,
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
)
from tools.ticketing.key_marker import strip_markers

Json = dict[str, Any]

_STATUS_IN = {
    "new": TicketStatus.NEW,
    "open": TicketStatus.OPEN,
    "pending": TicketStatus.PENDING,
    "hold": TicketStatus.PENDING,
    "solved": TicketStatus.SOLVED,
    "closed": TicketStatus.CLOSED,
}
_PRIORITY_IN = {priority.value: priority for priority in TicketPriority}  # the same words
_MAX_ID_DIGITS = 19


# --- ids --------------------------------------------------------------------------------
def path_id(ticket_id: str) -> int:
    """The ticket id for a path; an id Zendesk cannot have is a ticket that does not exist."""
    if not is_zendesk_id(ticket_id):
        raise TicketNotFound(f"zendesk: ticket {ticket_id!r} not found (ids are numbers)")
    return int(ticket_id)


def body_id(value: str, what: str) -> int:
    if not is_zendesk_id(value):
        message = f"zendesk (refused before sending): {what} {value!r} is not a Zendesk id"
        raise HelpdeskRejected(422, message)
    return int(value)


def is_zendesk_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= _MAX_ID_DIGITS


# --- request bodies ---------------------------------------------------------------------
def new_ticket_body(ticket: NewTicket) -> Json:
    """``POST /api/v2/tickets.json``: subject, first comment (public), requester, priority, tags."""
    fields: Json = {
        "subject": ticket.subject,
        "comment": {"body": ticket.body, "public": True},
        **_requester(ticket),
    }
    if ticket.priority is not None:
        fields["priority"] = ticket.priority.value
    if ticket.tags:
        fields["tags"] = list(dict.fromkeys(ticket.tags))
    return {"ticket": fields}


def _requester(ticket: NewTicket) -> Json:
    customer = ticket.requester
    if customer.email:
        return {"requester": {"email": customer.email, "name": customer.name or customer.email}}
    if is_zendesk_id(customer.id):
        return {"requester_id": int(customer.id)}
    raise HelpdeskRejected(
        422, "zendesk (refused before sending): a requester needs an e-mail or a Zendesk user id"
    )


def comment_json(body: str, public: bool, author_id: str | None) -> Json:
    comment: Json = {"body": body, "public": public}
    if author_id is not None:
        comment["author_id"] = body_id(author_id, "author_id")
    return comment


def update_fields(update: TicketUpdate) -> Json:
    """The ``ticket`` fields of ``PUT /api/v2/tickets/{id}.json`` (tags go to the Tags API)."""
    fields: Json = {}
    if update.status is not None:
        fields["status"] = update.status.value
    if update.priority is not None:
        fields["priority"] = update.priority.value
    if update.assignee_id is not None:
        fields["assignee_id"] = body_id(update.assignee_id, "assignee_id")
    if update.group_id is not None:
        fields["group_id"] = body_id(update.group_id, "group_id")
    return fields


# --- answers ----------------------------------------------------------------------------
def obj(value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise HelpdeskResponseInvalid(f"zendesk {what}: expected a JSON object")
    return value


def array(value: Any, what: str) -> list[Json]:
    if not isinstance(value, list):
        raise HelpdeskResponseInvalid(f"zendesk {what}: expected a JSON array")
    return [obj(item, what) for item in value]


def ticket_from(data: Any, agent_url: str, emails: Mapping[str, str]) -> Ticket:
    """A ``ticket`` object; ``emails`` are the side-loaded users' addresses by id."""
    ticket = obj(data, "ticket")
    ticket_id = _id(ticket.get("id"), "ticket.id")
    requester_id = _opt_id(ticket.get("requester_id"), "ticket.requester_id")
    return Ticket(
        id=ticket_id,
        subject=_opt_str(ticket.get("subject"), "ticket.subject") or "",
        status=_enum(_STATUS_IN, ticket.get("status"), "ticket.status"),
        priority=_priority(ticket.get("priority")),
        requester_email=emails.get(requester_id) if requester_id else None,
        requester_id=requester_id,
        tags=tuple(_str_list(ticket.get("tags", []), "ticket.tags")),
        assignee_id=_opt_id(ticket.get("assignee_id"), "ticket.assignee_id"),
        group_id=_opt_id(ticket.get("group_id"), "ticket.group_id"),
        url=f"{agent_url}/agent/tickets/{ticket_id}",
        created_at=_opt_str(ticket.get("created_at"), "ticket.created_at"),
        updated_at=_opt_str(ticket.get("updated_at"), "ticket.updated_at"),
    )


def user_emails(users: Any) -> dict[str, str]:
    """Side-loaded (``include=users``) or searched users: e-mail by user id."""
    found: dict[str, str] = {}
    for user in array(users or [], "users"):
        email = _opt_str(user.get("email"), "user.email")
        if email:
            found[_id(user.get("id"), "user.id")] = email
    return found


def comment_from(data: Any) -> Comment:
    """A comment (List Comments) or a ``Comment`` audit event (Update Ticket's answer)."""
    comment = obj(data, "comment")
    public = comment.get("public")
    if not isinstance(public, bool):
        raise HelpdeskResponseInvalid("zendesk comment.public: expected true or false")
    return Comment(
        id=_id(comment.get("id"), "comment.id"),
        body=strip_markers(_opt_str(comment.get("body"), "comment.body") or ""),
        public=public,
        author_id=_opt_id(comment.get("author_id"), "comment.author_id"),
        created_at=_opt_str(comment.get("created_at"), "comment.created_at"),
    )


def raw_bodies(comment: Json) -> list[str]:
    """Every text form of a comment, where an idempotency marker may be found."""
    return [str(comment[k]) for k in ("body", "plain_body", "html_body") if comment.get(k)]


def audit_comment(payload: Any) -> Comment | None:
    """The comment an Update Ticket answer's audit reports, if it reports one."""
    audit = obj(payload, "update answer").get("audit")
    if audit is None:
        return None
    events = array(obj(audit, "audit").get("events", []), "audit.events")
    comments = [event for event in events if event.get("type") == "Comment"]
    if not comments:
        return None
    event = {"created_at": audit.get("created_at"), **comments[-1]}
    return comment_from(event)


def next_cursor(payload: Json) -> str | None:
    """Cursor pagination: ``meta.after_cursor`` while ``meta.has_more``."""
    meta = payload.get("meta")
    if meta is None:
        return None
    meta = obj(meta, "meta")
    if not meta.get("has_more"):
        return None
    cursor = meta.get("after_cursor")
    if not isinstance(cursor, str) or not cursor:
        raise HelpdeskResponseInvalid("zendesk meta: has_more without an after_cursor")
    return cursor


def _id(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise HelpdeskResponseInvalid(f"zendesk {what}: expected a numeric id")
    return str(value)


def _opt_id(value: Any, what: str) -> str | None:
    return None if value is None else _id(value, what)


def _opt_str(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise HelpdeskResponseInvalid(f"zendesk {what}: expected a string")
    return value


def _str_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise HelpdeskResponseInvalid(f"zendesk {what}: expected a list of strings")
    return value


def _enum(mapping: Mapping[str, TicketStatus], value: Any, what: str) -> TicketStatus:
    if not isinstance(value, str) or value not in mapping:
        raise HelpdeskResponseInvalid(f"zendesk {what}: unknown value {value!r}")
    return mapping[value]


def _priority(value: Any) -> TicketPriority | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in _PRIORITY_IN:
        raise HelpdeskResponseInvalid(f"zendesk ticket.priority: unknown value {value!r}")
    return _PRIORITY_IN[value]
