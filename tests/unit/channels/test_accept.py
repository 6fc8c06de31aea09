"""Canonical events become queued messages: customer messages, ownership changes, ignored."""

from agent.channels.accept import accepted
from agent.channels.base import AGENT_REPLY, ASSIGNMENT, Delivery, EventKind, Ignored, InboundEvent
from agent.runtime.models import CUSTOMER_MESSAGE, MODE_CHANGE
from tools.context import Customer

JANE = Customer("42", "jane@example.com", "Jane")


def customer(
    text: str, event_id: str = "m-1", auto_submitted: bool = False, email: bool = False
) -> InboundEvent:
    return InboundEvent(
        EventKind.CUSTOMER, "c-9", event_id, text, JANE, email=email, auto_submitted=auto_submitted
    )


def test_a_customer_event_becomes_a_customer_message() -> None:
    batch = accepted("acme", "chatwoot", Delivery("d-1", [customer("  Where is my order?  ")]))
    (message,) = batch.messages
    assert message.conversation_key == "acme:chatwoot:c-9"
    assert (message.kind, message.message_id, message.text) == (
        CUSTOMER_MESSAGE,
        "m-1",
        "Where is my order?",
    )
    assert message.customer == JANE and batch.ignored == []


def test_automatic_and_empty_messages_are_ignored_with_a_reason() -> None:
    events = [customer("Away until Monday", "m-1", auto_submitted=True), customer("   ", "m-2")]
    earlier = [Ignored("n-1", "a private note")]
    batch = accepted("acme", "zendesk", Delivery("d-2", events, earlier))
    assert batch.messages == []
    assert [item.event_id for item in batch.ignored] == ["n-1", "m-1", "m-2"]
    assert "automatic" in batch.ignored[1].reason and "no text" in batch.ignored[2].reason


def test_ownership_changes_keep_their_order_and_reason() -> None:
    took = InboundEvent(
        EventKind.MANUAL, "c-9", "m-3.owner", reason="assigned to team 4", cause=ASSIGNMENT
    )
    batch = accepted("acme", "intercom", Delivery("d-3", [took, customer("Hello?", "m-3")]))
    first, second = batch.messages
    assert first.kind == MODE_CHANGE and first.data["mode"] == "manual"
    assert first.data["reason"] == "assigned to team 4" and first.customer.id == ""
    assert second.kind == CUSTOMER_MESSAGE


def test_in_draft_mode_an_agent_reply_keeps_the_mode_but_an_assignment_does_not() -> None:
    reply = InboundEvent(EventKind.MANUAL, "c-9", "a-1", "Sent it.", cause=AGENT_REPLY)
    assign = InboundEvent(EventKind.MANUAL, "c-9", "a-2", cause=ASSIGNMENT)
    batch = accepted("acme", "front", Delivery("d-4", [reply, assign]), draft=True)
    assert [m.data["mode"] for m in batch.messages] == ["", "manual"]
    batch = accepted("acme", "front", Delivery("d-4", [reply, assign]), draft=False)
    assert [m.data["mode"] for m in batch.messages] == ["manual", "manual"]


def test_email_messages_are_marked_for_the_graph() -> None:
    batch = accepted("acme", "helpscout", Delivery("d-5", [customer("Refund?", email=True)]))
    assert batch.messages[0].data["email"] is True


def test_email_from_a_no_reply_address_is_never_answered() -> None:
    robot = InboundEvent(
        EventKind.CUSTOMER, "c-9", "m-1", "Your ticket was updated.",
        Customer("7", "no-reply@shop.example"), email=True,
    )  # fmt: skip
    batch = accepted("acme", "helpscout", Delivery("d-6", [robot]))
    assert batch.messages == [] and "automatic" in batch.ignored[0].reason
