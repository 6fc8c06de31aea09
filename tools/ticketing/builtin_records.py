"""The built-in store's canonical data: the fixture shape ``seed()`` loads and ``snapshot()``
gives, and how a write's first result is kept for its idempotency key.

Fixture / snapshot shape (version 1), everything JSON-able::

    {"version": 1,
     "tickets": [{"id": "1", "subject": "...", "status": "open", "priority": "high" | null,
                  "requester": {"id": "cust_1", "email": "a@example.com", "name": "A"},
                  "tags": ["billing"], "assignee_id": null, "group_id": null,
                  "comments": [{"id": "1", "body": "...", "public": true, "author_id": "cust_1"}],
                  "created_at": "...", "updated_at": "..."}]}

In a fixture, ids and timestamps may be left out (assigned in order); ``status`` defaults
to ``open`` and ``public`` to true.
"""

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import TicketingError
from tools.ticketing.base import Comment, Ticket, TicketPriority, TicketStatus

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentRecord(_Strict):
    id: str | None = None
    body: str
    public: bool = True
    author_id: str | None = None
    created_at: str | None = None


class RequesterRecord(_Strict):
    id: str
    email: str | None = None
    name: str | None = None


class TicketRecord(_Strict):
    id: str | None = None
    subject: str
    status: TicketStatus = TicketStatus.OPEN
    priority: TicketPriority | None = None
    requester: RequesterRecord
    tags: list[str] = Field(default_factory=list)
    assignee_id: str | None = None
    group_id: str | None = None
    comments: list[CommentRecord] = Field(default_factory=list)
    created_at: str | None = None
    updated_at: str | None = None


class StoreRecord(_Strict):
    version: Literal[1] = 1
    tickets: list[TicketRecord] = Field(default_factory=list)


def parse_fixture(data: Any) -> StoreRecord:
    """The fixture, validated; TicketingError naming every problem otherwise."""
    try:
        record = StoreRecord.model_validate(data)
    except ValidationError as error:
        raise TicketingError(f"invalid ticket store fixture: {error}") from None
    tickets = [ticket.id for ticket in record.tickets if ticket.id]
    comments = [c.id for ticket in record.tickets for c in ticket.comments if c.id]
    for kind, ids in (("ticket", tickets), ("comment", comments)):
        if len(ids) != len(set(ids)):
            raise TicketingError(f"invalid ticket store fixture: {kind} ids repeat")
    return record


def dump_record(record: StoreRecord, with_times: bool) -> dict[str, Any]:
    """Canonical JSON-able data: tickets by id, tags sorted, timestamps only when asked."""
    data = record.model_dump(mode="json")
    data["tickets"].sort(key=lambda ticket: natural_key(ticket["id"]))
    for ticket in data["tickets"]:
        ticket["tags"] = sorted(set(ticket["tags"]))
        if not with_times:
            del ticket["created_at"], ticket["updated_at"]
            for comment in ticket["comments"]:
                del comment["created_at"]
    return data


def natural_key(value: str) -> tuple[int, int, str]:
    """Numeric ids in number order, then the others alphabetically."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


# --- what an idempotency key keeps: the first result, as JSON ---------------------------
def encode_ticket(ticket: Ticket) -> Any:
    return dataclasses.asdict(ticket)


def decode_ticket(data: Any) -> Ticket:
    priority = data["priority"]
    return Ticket(
        **{
            **data,
            "status": TicketStatus(data["status"]),
            "priority": TicketPriority(priority) if priority else None,
            "tags": tuple(data["tags"]),
        }
    )


def encode_comment(comment: Comment) -> Any:
    return dataclasses.asdict(comment)


def decode_comment(data: Any) -> Comment:
    return Comment(**data)


def encode_none(_: None) -> Any:
    return None


def decode_none(_: Any) -> None:
    return None
