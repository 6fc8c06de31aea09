"""The built-in ticket store beyond the contract: snapshot / seed, erasure, keys, persistence."""

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tools.context import Customer
from tools.errors import TicketingError
from tools.ticketing.base import (
    Handoff,
    NewTicket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
)
from tools.ticketing.builtin import BuiltinTicketStore

ADA = Customer("cust-ada", "ada@example.com", "Ada")
BOB = Customer("cust-bob", "bob@example.com", "Bob")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
C = {"id": "5", "body": "twice"}

FIXTURE: dict[str, Any] = {
    "version": 1,
    "tickets": [
        {
            "id": "7",
            "subject": "Lamp arrived broken",
            "status": "pending",
            "priority": "high",
            "requester": {"id": "cust-ada", "email": "ada@example.com", "name": "Ada"},
            "tags": ["damaged", "billing"],
            "assignee_id": "agent-1",
            "group_id": None,
            "comments": [
                {"id": "3", "body": "It is broken.", "public": True, "author_id": "cust-ada"},
                {"id": "4", "body": "Asked for photos.", "public": False, "author_id": "bot"},
            ],
        },
        {
            "id": "12",
            "subject": "Invoice",
            "status": "open",
            "priority": None,
            "requester": {"id": "cust-bob", "email": "bob@example.com", "name": "Bob"},
            "tags": [],
            "assignee_id": None,
            "group_id": "billing",
            "comments": [],
        },
    ],
}


async def open_store(path: Path, **options: Any) -> BuiltinTicketStore:
    return await BuiltinTicketStore.open(path / "tickets.sqlite3", **options)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[BuiltinTicketStore]:
    opened = await open_store(tmp_path)
    yield opened
    await opened.aclose()


async def some_activity(store: BuiltinTicketStore) -> None:
    new = NewTicket("Where is my order?", "Late.", ADA, TicketPriority.HIGH, ("zeta", "alpha"))
    ticket = await store.create_ticket(new, "create-1")
    await store.create_ticket(NewTicket("Invoice", "Need a copy.", BOB), "create-2")
    await store.comment(ticket.id, "On its way.", True, "reply-1")
    await store.update_ticket(ticket.id, TicketUpdate(add_tags=("vip",)), "update-1")
    await store.hand_off(ticket.id, Handoff("asked for a human", "Wants a call."), "handoff-1")


def sorted_fixture() -> dict[str, Any]:
    """FIXTURE as snapshot() gives it back: tickets by id number, tags sorted."""
    expected = json.loads(json.dumps(FIXTURE))
    for ticket in expected["tickets"]:
        ticket["tags"] = sorted(ticket["tags"])
    return expected


async def test_the_same_activity_gives_the_same_snapshot(tmp_path: Path) -> None:
    snapshots = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        store = await open_store(tmp_path / run)
        await some_activity(store)
        snapshots.append(await store.snapshot())
        await store.aclose()
    assert snapshots[0] == snapshots[1]
    text = json.dumps(snapshots[0], sort_keys=True)
    assert "created_at" not in text and "updated_at" not in text  # real time is left out
    first = snapshots[0]["tickets"][0]
    assert first["tags"] == ["alpha", "bot_escalated", "vip", "zeta"]
    assert [c["body"] for c in first["comments"]][:2] == ["Late.", "On its way."]
    assert first["comments"][2]["public"] is False and first["status"] == "open"


async def test_an_injected_clock_puts_timestamps_in_the_snapshot(tmp_path: Path) -> None:
    store = await open_store(tmp_path, clock=lambda: NOON)
    await store.create_ticket(NewTicket("Hi", "Hello.", ADA), "create-1")
    (ticket,) = (await store.snapshot())["tickets"]
    await store.aclose()
    assert ticket["created_at"] == ticket["updated_at"] == "2026-03-02T12:00:00.000000Z"
    assert ticket["comments"][0]["created_at"] == "2026-03-02T12:00:00.000000Z"


async def test_seed_then_snapshot_gives_the_fixture_back(store: BuiltinTicketStore) -> None:
    await store.seed(FIXTURE)
    assert await store.snapshot() == sorted_fixture()
    ticket = await store.get_ticket("7")
    assert (ticket.status, ticket.priority) == (TicketStatus.PENDING, TicketPriority.HIGH)
    assert [c.id for c in await store.list_comments("7")] == ["3", "4"]


async def test_a_sparse_fixture_gets_defaults_and_ids_continue_after_it(
    store: BuiltinTicketStore,
) -> None:
    await store.seed(
        {
            "tickets": [
                {"id": "41", "subject": "Old", "requester": {"id": "cust-ada"}},
                {"subject": "No id", "requester": {"id": "cust-bob"}, "comments": [{"body": "x"}]},
            ]
        }
    )
    tickets = (await store.snapshot())["tickets"]
    assert [(t["id"], t["status"]) for t in tickets] == [("41", "open"), ("42", "open")]
    assert tickets[1]["comments"] == [{"id": "1", "body": "x", "public": True, "author_id": None}]
    created = await store.create_ticket(NewTicket("New", "Body.", ADA), "create-1")
    assert created.id == "43"


async def test_seed_replaces_everything_keys_included(store: BuiltinTicketStore) -> None:
    await some_activity(store)
    await store.seed({"version": 1, "tickets": []})
    assert await store.snapshot() == {"version": 1, "tickets": []}
    again = await store.create_ticket(NewTicket("Again", "Body.", ADA), "create-1")
    assert again.subject == "Again"  # the old key no longer answers


@pytest.mark.parametrize(
    ("fixture", "problem"),
    [
        ({"tickets": [{"subject": "x", "requester": {"id": "c"}, "colour": "red"}]}, "colour"),
        ({"tickets": [{"subject": "x", "requester": {"id": "c"}, "status": "lost"}]}, "status"),
        ({"tickets": [{"subject": "x"}]}, "requester"),
        ({"version": 2, "tickets": []}, "version"),
        (
            {"tickets": [{"id": "1", "subject": "a", "requester": {"id": "c"}}] * 2},
            "ticket ids repeat",
        ),
        (
            {"tickets": [{"subject": "a", "requester": {"id": "c"}, "comments": [C, C]}]},
            "comment ids repeat",
        ),
    ],
)
async def test_a_bad_fixture_is_refused_and_changes_nothing(
    store: BuiltinTicketStore, fixture: dict[str, Any], problem: str
) -> None:
    await store.seed(FIXTURE)
    with pytest.raises(TicketingError, match=problem):
        await store.seed(fixture)
    assert await store.snapshot() == sorted_fixture()


async def test_erase_removes_a_customers_tickets_comments_and_keys(
    store: BuiltinTicketStore,
) -> None:
    await store.seed(FIXTURE)
    await store.comment("12", "Ada's aside on Bob's ticket", True, "aside")  # bot-authored
    await store.create_ticket(NewTicket("Second", "Another.", ADA), "create-ada")
    assert await store.erase_customer("ADA@example.com") == 2
    remaining = (await store.snapshot())["tickets"]
    assert [t["id"] for t in remaining] == ["12"]
    assert "ada@example.com" not in json.dumps(remaining)
    again = await store.create_ticket(NewTicket("Third", "Back.", ADA), "create-ada")
    assert again.subject == "Third"  # the erased ticket's key no longer answers
    assert await store.erase_customer("cust-bob") == 1
    assert await store.erase_customer("nobody@example.com") == 0


async def test_erase_also_removes_what_the_customer_wrote_elsewhere(
    store: BuiltinTicketStore,
) -> None:
    fixture = sorted_fixture()
    fixture["tickets"][1]["comments"] = [
        {"id": "9", "body": "Ada chimes in", "public": True, "author_id": "cust-ada"}
    ]
    await store.seed(fixture)
    assert await store.erase_customer("cust-ada") == 1
    assert await store.list_comments("12") == []


async def test_a_repeated_key_returns_the_first_result_and_writes_nothing(
    store: BuiltinTicketStore,
) -> None:
    ticket = await store.create_ticket(NewTicket("Hi", "Hello.", ADA), "create-1")
    solve = TicketUpdate(status=TicketStatus.SOLVED, add_tags=("done",))
    first = await store.update_ticket(ticket.id, solve, "update-1")
    await store.update_ticket(ticket.id, TicketUpdate(status=TicketStatus.OPEN), "update-2")
    before = await store.snapshot()
    again = await store.update_ticket(ticket.id, solve, "update-1")
    assert again == first and again.status == TicketStatus.SOLVED
    assert await store.snapshot() == before  # still open: nothing was written


async def test_concurrent_calls_with_one_key_create_one_ticket(store: BuiltinTicketStore) -> None:
    new = NewTicket("Hi", "Hello.", ADA)
    created = await asyncio.gather(*(store.create_ticket(new, "same") for _ in range(5)))
    assert len({t.id for t in created}) == 1
    assert len((await store.snapshot())["tickets"]) == 1


async def test_the_store_persists_across_reopening(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    await some_activity(store)
    before = await store.snapshot()
    await store.aclose()
    reopened = await open_store(tmp_path)
    assert await reopened.snapshot() == before
    again = await reopened.create_ticket(NewTicket("x", "y", ADA), "create-1")
    assert again.subject == "Where is my order?"  # keys survive too
    await reopened.aclose()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    await (await open_store(tmp_path)).aclose()
    with sqlite3.connect(tmp_path / "tickets.sqlite3") as db:
        db.execute("UPDATE ticketing_meta SET value = '2' WHERE key = 'schema_version'")
    with pytest.raises(TicketingError, match="schema version 2"):
        await open_store(tmp_path)


async def test_seeded_times_order_a_customers_tickets(store: BuiltinTicketStore) -> None:
    fixture = sorted_fixture()
    older = {**fixture["tickets"][0], "id": "8", "subject": "Older", "comments": []}
    fixture["tickets"].append(older)
    fixture["tickets"][0]["created_at"] = "2026-02-01T00:00:00.000000Z"
    fixture["tickets"][2]["created_at"] = "2026-01-01T00:00:00.000000Z"
    await store.seed(fixture)
    listed = await store.list_customer_tickets(Customer("someone", "Ada@Example.com"))
    assert [t.id for t in listed] == ["7", "8"]
    by_id = await store.list_customer_tickets(Customer("cust-ada"))
    assert [t.id for t in by_id] == ["7", "8"]


async def test_hand_off_without_a_group_goes_to_the_configured_one(tmp_path: Path) -> None:
    store = await open_store(tmp_path, handoff_group_id="humans")
    ticket = await store.create_ticket(NewTicket("Hi", "Hello.", ADA), "create-1")
    await store.hand_off(ticket.id, Handoff("asked", "Wants a person."), "handoff-1")
    fetched = await store.get_ticket(ticket.id)
    await store.aclose()
    assert (fetched.group_id, fetched.status) == ("humans", TicketStatus.OPEN)
