"""The ticketing tools through the registry, against the real built-in store (and fake Zendesk).

What they promise: the verified customer's tickets only (another customer's reads exactly
like a missing one), the requester always from the context, one ticket per re-run call,
helpdesk outages as system failures and model mistakes as messages.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.fake_helpdesks import open_backend
from tools.context import Customer, ToolContext
from tools.errors import (
    HelpdeskAuthError,
    HelpdeskRejected,
    HelpdeskUnavailable,
    TicketingError,
    ToolExecutionError,
)
from tools.registry import SideEffect, ToolRegistry
from tools.ticketing.base import NewTicket, Ticket, TicketingBackend
from tools.ticketing.builtin import BuiltinTicketStore
from tools.ticketing.tools import TOOL_NAMES, ticketing_tools

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
BOB = Customer("cust-bob", "bob@example.com", "Bob Builder", "en")
LAMP = {"subject": "Lamp flickers", "description": "My Aurora lamp flickers since Monday."}


def context(customer: Customer | None = ADA, conversation: str = "acme:generic:c1") -> ToolContext:
    return ToolContext("acme", conversation, customer)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[BuiltinTicketStore]:
    opened = await BuiltinTicketStore.open(tmp_path / "tickets.sqlite3")
    yield opened
    await opened.aclose()


@pytest.fixture
def registry(store: BuiltinTicketStore) -> ToolRegistry:
    return ToolRegistry(ticketing_tools(store))


async def ticket_of(store: BuiltinTicketStore, customer: Customer, subject: str) -> Ticket:
    new = NewTicket(subject, f"About: {subject}.", customer)
    return await store.create_ticket(new, f"seed-{customer.id}-{subject}")


def test_the_tools_and_their_side_effects(registry: ToolRegistry) -> None:
    assert registry.names == set(TOOL_NAMES)
    effects = {name: registry.get(name).side_effect for name in TOOL_NAMES}
    assert effects == {
        "list_my_tickets": SideEffect.READ,
        "get_ticket": SideEffect.READ,
        "create_ticket": SideEffect.WRITE,
    }
    properties = {p for s in registry.schemas(TOOL_NAMES) for p in s.parameters["properties"]}
    assert properties == {"limit", "ticket_id", "subject", "description"}
    schemas = json.dumps([s.parameters for s in registry.schemas(TOOL_NAMES)])
    assert "requester" not in schemas and "email" not in schemas  # not the model's to say


async def test_list_shows_only_the_customers_tickets_newest_first(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    first = await ticket_of(store, ADA, "Broken kettle")
    await ticket_of(store, BOB, "Bob's sofa")
    second = await ticket_of(store, ADA, "Missing parcel")
    outcome = await registry.invoke("list_my_tickets", {}, context(ADA))
    assert outcome.ok
    tickets = outcome.content["tickets"]
    assert [t["id"] for t in tickets] == [second.id, first.id]
    assert tickets[0] == {
        "id": second.id,
        "subject": "Missing parcel",
        "status": "new",
        "last_update": second.updated_at,
    }
    limited = await registry.invoke("list_my_tickets", {"limit": 1}, context(ADA))
    assert [t["id"] for t in limited.content["tickets"]] == [second.id]


async def test_a_customer_gets_their_ticket_with_its_public_replies(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    ticket = await ticket_of(store, ADA, "Broken kettle")
    await store.comment(ticket.id, "We are sending a new one.", True, "reply-1")
    await store.comment(ticket.id, "Internal: check stock first.", False, "note-1")
    outcome = await registry.invoke("get_ticket", {"ticket_id": f"#{ticket.id}"}, context(ADA))
    assert outcome.ok
    assert outcome.content["subject"] == "Broken kettle"
    comments = outcome.content["comments"]
    assert [(c["from"], c["body"]) for c in comments] == [
        ("customer", "About: Broken kettle."),
        ("support", "We are sending a new one."),
    ]
    assert "Internal" not in json.dumps(outcome.content)


async def test_another_customers_ticket_reads_like_a_missing_one(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    bobs = await ticket_of(store, BOB, "Bob's sofa")
    theirs = await registry.invoke("get_ticket", {"ticket_id": bobs.id}, context(ADA))
    missing = await registry.invoke("get_ticket", {"ticket_id": "987654"}, context(ADA))
    assert not theirs.ok and not missing.ok
    assert theirs.content == f"no ticket {bobs.id} was found for this customer"
    assert theirs.content.replace(bobs.id, "ID") == missing.content.replace("987654", "ID")
    assert "sofa" not in theirs.to_model_text() and "bob" not in theirs.to_model_text()


async def test_the_same_email_in_another_case_is_the_same_customer(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    ticket = await ticket_of(store, ADA, "Broken kettle")
    shouting = Customer("another-id", "ADA@EXAMPLE.COM")
    outcome = await registry.invoke("get_ticket", {"ticket_id": ticket.id}, context(shouting))
    assert outcome.ok


async def test_create_acts_for_the_verified_customer_whatever_the_model_says(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    arguments = {**LAMP, "requester": {"email": BOB.email}, "requester_email": BOB.email}
    outcome = await registry.invoke("create_ticket", arguments, context(ADA))
    assert outcome.ok
    created = await store.get_ticket(outcome.content["id"])
    assert (created.requester_email, created.requester_id) == (ADA.email, ADA.id)
    assert created.subject == "Lamp flickers"
    assert await store.list_customer_tickets(BOB) == []


async def test_a_rerun_create_opens_one_ticket(
    store: BuiltinTicketStore, registry: ToolRegistry
) -> None:
    first = await registry.invoke("create_ticket", LAMP, context(ADA))
    again = await registry.invoke("create_ticket", LAMP, context(ADA))  # the turn re-run
    assert first.content == again.content
    assert len(await store.list_customer_tickets(ADA)) == 1
    other = await registry.invoke("create_ticket", LAMP, context(ADA, "acme:generic:c2"))
    assert other.content["id"] != first.content["id"]  # another conversation, another ticket


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_my_tickets", {}),
        ("get_ticket", {"ticket_id": "1"}),
        ("create_ticket", LAMP),
    ],
)
async def test_without_a_verified_customer_nothing_is_done(
    store: BuiltinTicketStore, registry: ToolRegistry, tool: str, arguments: dict[str, str]
) -> None:
    outcome = await registry.invoke(tool, arguments, context(None))
    assert not outcome.ok and "not identified" in outcome.content
    assert (await store.snapshot())["tickets"] == []


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"subject": "Hi", "description": LAMP["description"]}, "subject"),
        ({"subject": "Lamp flickers"}, "description"),
    ],
)
async def test_invalid_arguments_are_the_models_to_fix(
    registry: ToolRegistry, arguments: dict[str, str], problem: str
) -> None:
    outcome = await registry.invoke("create_ticket", arguments, context(ADA))
    assert not outcome.ok and problem in outcome.content
    bad_id = await registry.invoke("get_ticket", {"ticket_id": "../1"}, context(ADA))
    assert not bad_id.ok and "ticket_id" in bad_id.content


class Failing(TicketingBackend):
    """A helpdesk whose every call fails with ``error`` (or hangs, when ``hang``)."""

    name = "failing"

    def __init__(self, error: TicketingError | None = None, hang: bool = False) -> None:
        self._error = error
        self._hang = hang

    async def _fail(self) -> None:
        if self._hang:
            await asyncio.sleep(10)
        assert self._error is not None
        raise self._error

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        await self._fail()
        return []

    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        await self._fail()
        raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        HelpdeskUnavailable("zendesk did not answer after 3 attempts"),
        HelpdeskAuthError("zendesk refused the credentials (401)"),
    ],
)
async def test_helpdesk_outages_are_system_failures(error: TicketingError) -> None:
    registry = ToolRegistry(ticketing_tools(Failing(error)))
    for tool, arguments in (("list_my_tickets", {}), ("create_ticket", LAMP)):
        with pytest.raises(ToolExecutionError, match=type(error).__name__):
            await registry.invoke(tool, arguments, context(ADA))


async def test_a_request_the_helpdesk_refuses_is_told_to_the_model() -> None:
    registry = ToolRegistry(ticketing_tools(Failing(HelpdeskRejected(422, "subject too long"))))
    outcome = await registry.invoke("create_ticket", LAMP, context(ADA))
    assert not outcome.ok
    assert outcome.content == (
        "the helpdesk refused this request (helpdesk answered 422: subject too long)"
    )


async def test_a_slow_helpdesk_times_out_as_a_system_failure() -> None:
    registry = ToolRegistry(ticketing_tools(Failing(hang=True), timeout_s=0.05))
    with pytest.raises(ToolExecutionError, match="timed out"):
        await registry.invoke("list_my_tickets", {}, context(ADA))


async def test_without_a_connected_helpdesk_a_call_is_a_system_failure() -> None:
    registry = ToolRegistry(ticketing_tools(None))
    with pytest.raises(ToolExecutionError, match="no helpdesk is connected"):
        await registry.invoke("list_my_tickets", {}, context(ADA))


async def test_through_the_tools_on_a_fake_zendesk(tmp_path: Path) -> None:
    async with open_backend("zendesk", tmp_path) as opened:
        registry = ToolRegistry(ticketing_tools(opened.backend))
        created = await registry.invoke("create_ticket", LAMP, context(ADA))
        listed = await registry.invoke("list_my_tickets", {}, context(ADA))
        ticket_id = created.content["id"]
        mine = await registry.invoke("get_ticket", {"ticket_id": ticket_id}, context(ADA))
        theirs = await registry.invoke("get_ticket", {"ticket_id": ticket_id}, context(BOB))
        assert opened.fake is not None
        posts = [r for r in opened.fake.requests if r.method == "POST"]
    assert created.ok and [t["id"] for t in listed.content["tickets"]] == [ticket_id]
    assert mine.ok and mine.content["comments"][0]["body"] == LAMP["description"]
    assert not theirs.ok and theirs.content == f"no ticket {ticket_id} was found for this customer"
    key = registry.get("create_ticket").key_for(
        registry.get("create_ticket").parse(LAMP), context(ADA)
    )
    assert [p.headers.get("idempotency-key") for p in posts] == [key]
    assert posts[0].body["ticket"]["requester"]["email"] == ADA.email
