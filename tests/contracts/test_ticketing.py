"""The ticketing contract: one suite, run against every backend in PLATFORMS.

Each platform's backend is the real client (or the built-in store) talking real HTTP to
that platform's fake (tests/support/fake_helpdesks/<platform>.py). A platform whose fake
does not exist yet is skipped, saying so; a fake that exists but fails to import fails.

What differs between platforms is expressed by the backend, not here:
- ``supports_priority`` False: the priority is the tag ``priority_tag(p)``;
- the ids that exist (an agent, a group, a hand-off group) come from the fake's
  ``directory`` (any string for the built-in store);
- a new ticket is NEW or OPEN; the statuses the suite sets are SOLVED and OPEN.
Tags are compared as sets that must contain / must not contain, since a platform may add
its own.
"""

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.fake_helpdesks import PLATFORMS, BackendUnderTest, open_backend
from tests.support.fake_helpdesks.base import Directory
from tools.context import Customer
from tools.errors import TicketNotFound
from tools.ticketing.base import (
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
    priority_tag,
)

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
BOB = Customer("cust-bob", "bob@example.com", "Bob Builder", "en")
UNKNOWN_ID = "987654321"


@pytest.fixture(params=PLATFORMS)
async def under_test(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BackendUnderTest]:
    platform: str = request.param
    module = f"tests.support.fake_helpdesks.{platform}"
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{platform}: no fake helpdesk yet ({module.replace('.', '/')}.py is missing)")
    async with open_backend(platform, tmp_path) as opened:
        yield opened


@pytest.fixture
def backend(under_test: BackendUnderTest) -> TicketingBackend:
    return under_test.backend


@pytest.fixture
def ids(under_test: BackendUnderTest) -> Directory:
    return under_test.fake.directory if under_test.fake is not None else Directory()


def new_ticket(
    customer: Customer = ADA,
    subject: str = "Where is my order BL-10234?",
    priority: TicketPriority | None = TicketPriority.HIGH,
    tags: tuple[str, ...] = ("billing", "order_status"),
) -> NewTicket:
    body = "I ordered a lamp two weeks ago and it has not arrived."
    return NewTicket(subject, body, customer, priority, tags)


def assert_priority(backend: TicketingBackend, ticket: Ticket, expected: TicketPriority) -> None:
    if backend.supports_priority:
        assert ticket.priority == expected
    else:
        assert priority_tag(expected) in ticket.tags


async def test_create_then_get_round_trips_the_ticket(backend: TicketingBackend) -> None:
    created = await backend.create_ticket(new_ticket(), "create-1")
    fetched = await backend.get_ticket(created.id)
    assert isinstance(created.id, str) and fetched.id == created.id
    assert fetched.subject == "Where is my order BL-10234?"
    assert fetched.requester_email == ADA.email
    assert fetched.requester_id and fetched.requester_id == created.requester_id
    assert {"billing", "order_status"} <= set(fetched.tags)
    assert_priority(backend, fetched, TicketPriority.HIGH)
    assert fetched.status in (TicketStatus.NEW, TicketStatus.OPEN)
    first = (await backend.list_comments(created.id))[0]
    assert first.body == "I ordered a lamp two weeks ago and it has not arrived."


async def test_a_repeated_create_key_creates_one_ticket(backend: TicketingBackend) -> None:
    first = await backend.create_ticket(new_ticket(), "create-once")
    again = await backend.create_ticket(new_ticket(), "create-once")
    assert again.id == first.id
    assert [t.id for t in await backend.list_customer_tickets(ADA)] == [first.id]
    other = await backend.create_ticket(new_ticket(subject="Another question"), "create-twice")
    assert other.id != first.id


async def test_public_reply_and_private_note_are_listed_with_their_flag(
    backend: TicketingBackend,
) -> None:
    ticket = await backend.create_ticket(new_ticket(), "create-1")
    reply = await backend.comment(ticket.id, "Your parcel left our depot today.", True, "c-1")
    note = await backend.comment(ticket.id, "Carrier confirmed the delay.", False, "c-2")
    assert (reply.body, reply.public) == ("Your parcel left our depot today.", True)
    assert (note.body, note.public) == ("Carrier confirmed the delay.", False)
    listed = [(c.id, c.body, c.public) for c in await backend.list_comments(ticket.id)]
    assert listed[-2:] == [
        (reply.id, "Your parcel left our depot today.", True),
        (note.id, "Carrier confirmed the delay.", False),
    ]


async def test_a_repeated_comment_key_posts_once(backend: TicketingBackend) -> None:
    ticket = await backend.create_ticket(new_ticket(), "create-1")
    first = await backend.comment(ticket.id, "We are on it.", True, "reply-1")
    again = await backend.comment(ticket.id, "We are on it.", True, "reply-1")
    assert again.id == first.id
    bodies = [c.body for c in await backend.list_comments(ticket.id)]
    assert bodies.count("We are on it.") == 1
    await backend.comment(ticket.id, "We are on it.", True, "reply-2")  # another key: posts
    assert [c.body for c in await backend.list_comments(ticket.id)].count("We are on it.") == 2


async def test_update_sets_status_priority_tags_assignee_and_group(
    backend: TicketingBackend, ids: Directory
) -> None:
    ticket = await backend.create_ticket(new_ticket(), "create-1")
    update = TicketUpdate(
        status=TicketStatus.SOLVED,
        priority=TicketPriority.URGENT,
        add_tags=("vip",),
        remove_tags=("billing",),
        assignee_id=ids.agent_id,
        group_id=ids.group_id,
    )
    answered = await backend.update_ticket(ticket.id, update, "update-1")
    fetched = await backend.get_ticket(ticket.id)
    for seen in (answered, fetched):
        assert seen.status == TicketStatus.SOLVED
        assert_priority(backend, seen, TicketPriority.URGENT)
        assert {"vip", "order_status"} <= set(seen.tags) and "billing" not in seen.tags
        assert (seen.assignee_id, seen.group_id) == (ids.agent_id, ids.group_id)


async def test_an_update_leaves_unnamed_fields_alone(
    backend: TicketingBackend, ids: Directory
) -> None:
    ticket = await backend.create_ticket(new_ticket(), "create-1")
    await backend.update_ticket(ticket.id, TicketUpdate(group_id=ids.group_id), "update-1")
    fetched = await backend.update_ticket(ticket.id, TicketUpdate(add_tags=("vip",)), "update-2")
    assert fetched.group_id == ids.group_id
    assert fetched.status in (TicketStatus.NEW, TicketStatus.OPEN)
    assert_priority(backend, fetched, TicketPriority.HIGH)
    assert {"vip", "billing", "order_status"} <= set(fetched.tags)


async def test_a_customer_sees_only_their_tickets_newest_first(backend: TicketingBackend) -> None:
    older = await backend.create_ticket(new_ticket(subject="First"), "create-1")
    newer = await backend.create_ticket(new_ticket(subject="Second"), "create-2")
    bobs = await backend.create_ticket(new_ticket(BOB, subject="Bob's"), "create-3")
    assert [t.id for t in await backend.list_customer_tickets(ADA)] == [newer.id, older.id]
    assert [t.id for t in await backend.list_customer_tickets(ADA, limit=1)] == [newer.id]
    assert [t.id for t in await backend.list_customer_tickets(BOB)] == [bobs.id]
    by_id = Customer(id=older.requester_id or "", email=None)
    assert [t.id for t in await backend.list_customer_tickets(by_id)] == [newer.id, older.id]
    nobody = Customer("cust-nobody", "nobody@example.com")
    assert await backend.list_customer_tickets(nobody) == []


async def test_hand_off_routes_reopens_tags_and_notes_the_summary(
    backend: TicketingBackend, ids: Directory
) -> None:
    ticket = await backend.create_ticket(new_ticket(), "create-1")
    solve = TicketUpdate(status=TicketStatus.SOLVED, assignee_id=ids.agent_id)
    await backend.update_ticket(ticket.id, solve, "solve-1")
    summary = "Wants a refund of 250 EUR for BL-10234; bot refunds stop at 100 EUR."
    handoff = Handoff(
        reason="refund above the bot's limit",
        summary=summary,
        priority=TicketPriority.URGENT,
        group_id=ids.handoff_group_id,
    )
    await backend.hand_off(ticket.id, handoff, "handoff-1")
    await backend.hand_off(ticket.id, handoff, "handoff-1")  # a re-run: no second note
    fetched = await backend.get_ticket(ticket.id)
    assert fetched.status == TicketStatus.OPEN
    assert (fetched.group_id, fetched.assignee_id) == (ids.handoff_group_id, None)
    assert "bot_escalated" in fetched.tags
    assert_priority(backend, fetched, TicketPriority.URGENT)
    notes = [c for c in await backend.list_comments(ticket.id) if summary in c.body]
    assert len(notes) == 1 and notes[0].public is False


async def test_an_unknown_ticket_is_not_found(backend: TicketingBackend) -> None:
    with pytest.raises(TicketNotFound):
        await backend.get_ticket(UNKNOWN_ID)
    with pytest.raises(TicketNotFound):
        await backend.list_comments(UNKNOWN_ID)
    with pytest.raises(TicketNotFound):
        await backend.comment(UNKNOWN_ID, "hello?", True, "c-unknown")
    with pytest.raises(TicketNotFound):
        await backend.update_ticket(UNKNOWN_ID, TicketUpdate(add_tags=("x",)), "u-unknown")
