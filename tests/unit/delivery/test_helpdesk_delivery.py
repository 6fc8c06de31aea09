"""Outbox items through the tenant's helpdesk client (here the built-in store: a real
SQLite ticket store behind the same interface as the cloud helpdesks)."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.delivery import APPROVAL, HANDOFF, REPLY
from agent.helpdesk_delivery import DRAFT_HEADER, HelpdeskDelivery
from agent.runtime.models import OutboxItem
from agent.tenant_helpdesks import TenantHelpdesks
from tests.unit.graph.conftest import tenants_with
from tools.context import Customer
from tools.ticketing.base import NewTicket, TicketPriority, TicketStatus
from tools.ticketing.builtin import BuiltinTicketStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[BuiltinTicketStore]:
    tickets = await BuiltinTicketStore.open(tmp_path / "tickets.sqlite3")
    yield tickets
    await tickets.aclose()


async def ticket_key(store: BuiltinTicketStore) -> str:
    new = NewTicket("Refund", "Where is my refund?", Customer("42", "jane@example.com"))
    ticket = await store.create_ticket(new, "create-1")
    return f"demo:zendesk:{ticket.id}"


def reply(text: str = "Refunds take 5–7 business days.") -> OutboxItem:
    return OutboxItem("m-1.reply", REPLY, {"message_id": "m-1.reply", "text": text})


async def test_a_reply_is_a_public_comment_once_even_when_delivered_twice(
    tmp_path: Path, store: BuiltinTicketStore
) -> None:
    delivery = HelpdeskDelivery(tenants_with(tmp_path), TenantHelpdesks({"demo": store}))
    key = await ticket_key(store)
    await delivery.deliver(key, reply())
    await delivery.deliver(key, reply())
    comments = await store.list_comments(key.rsplit(":", 1)[1])
    bot_comments = [c for c in comments if c.body.startswith("Refunds")]
    assert len(bot_comments) == 1 and bot_comments[0].public


async def test_in_draft_mode_a_reply_is_an_internal_note(
    tmp_path: Path, store: BuiltinTicketStore
) -> None:
    tenants = tenants_with(tmp_path, channels__reply_mode="draft")
    delivery = HelpdeskDelivery(tenants, TenantHelpdesks({"demo": store}))
    key = await ticket_key(store)
    await delivery.deliver(key, reply())
    last = (await store.list_comments(key.rsplit(":", 1)[1]))[-1]
    assert not last.public
    assert last.body.startswith(DRAFT_HEADER) and "5–7 business days" in last.body


async def test_a_handoff_routes_tags_prioritises_and_notes(
    tmp_path: Path, store: BuiltinTicketStore
) -> None:
    delivery = HelpdeskDelivery(tenants_with(tmp_path), TenantHelpdesks({"demo": store}))
    key = await ticket_key(store)
    ticket_id = key.rsplit(":", 1)[1]
    payload = {"reason": "frustration", "priority": "high", "summary": "Customer is upset."}
    await delivery.deliver(key, OutboxItem("m-1.reply:handoff", HANDOFF, payload))
    ticket = await store.get_ticket(ticket_id)
    assert ticket.status is TicketStatus.OPEN and ticket.priority is TicketPriority.HIGH
    assert "bot_escalated" in ticket.tags
    note = (await store.list_comments(ticket_id))[-1]
    assert not note.public and "frustration" in note.body and "Customer is upset." in note.body


async def test_an_approval_request_is_an_internal_note(
    tmp_path: Path, store: BuiltinTicketStore
) -> None:
    delivery = HelpdeskDelivery(tenants_with(tmp_path), TenantHelpdesks({"demo": store}))
    key = await ticket_key(store)
    payload = {
        "id": "ap-1",
        "tool": "request_refund",
        "arguments": {"amount": 89},
        "reason": "over 50",
    }
    await delivery.deliver(key, OutboxItem("ap-1:requested", APPROVAL, payload))
    note = (await store.list_comments(key.rsplit(":", 1)[1]))[-1]
    assert not note.public and "ap-1" in note.body and "request_refund" in note.body
