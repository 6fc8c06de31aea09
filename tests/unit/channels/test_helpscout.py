"""The Help Scout channel: X-HelpScout-Signature (base64 HMAC-SHA1 of the body), the v2
conversation parsed into events by the X-HelpScout-Event name, state sync, synthetic
dedupe ids, robustness."""

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.channels.base import (
    AGENT_REPLY,
    ASSIGNMENT,
    STATUS,
    ChannelError,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    PayloadInvalid,
    SignatureInvalid,
)
from agent.channels.helpscout import HelpScoutChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sign

SECRET = "hs-webhook-secret-0001"
OLD_SECRET = "hs-webhook-secret-0000"
BOT_USER = "100"
CUSTOMER_REPLY = "convo.customer.reply.created"
CHANNEL = HelpScoutChannel()


def make_bot(user_id: str | None = BOT_USER) -> BotConfig:
    helpdesk = {
        "platform": "helpscout",
        "client_id": "id",
        "client_secret": "secret",
        "mailbox_id": "85",
        "user_id": user_id,
    }
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "helpdesk": helpdesk,
            "channels": {"helpscout": {"secrets": [SECRET, OLD_SECRET]}},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("helpscout", name)


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode()


def accept(
    data: Any,
    event: str = CUSTOMER_REPLY,
    headers: dict[str, str] | None = None,
    bot: BotConfig = BOT,
) -> Delivery:
    body = data if isinstance(data, bytes) else body_of(data)
    sent = sign("helpscout", SECRET, body, event=event) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, {})


# --- verification ------------------------------------------------------------------------
@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_either_secret_passes_during_a_rotation(secret: str) -> None:
    body = body_of(fixture("customer_reply"))
    assert accept(body, headers=sign("helpscout", secret, body)).events


def test_a_wrong_secret_is_401() -> None:
    body = body_of(fixture("customer_reply"))
    with pytest.raises(SignatureInvalid):
        accept(body, headers=sign("helpscout", "another-secret", body))


def test_a_missing_signature_is_401() -> None:
    with pytest.raises(SignatureInvalid, match="missing"):
        accept(fixture("customer_reply"), headers={"X-HelpScout-Event": CUSTOMER_REPLY})


@pytest.mark.parametrize("signature", ["not base64 at all", "sha1=abc", " ", "=" * 28])
def test_a_malformed_signature_is_401(signature: str) -> None:
    headers = {"X-HelpScout-Signature": signature, "X-HelpScout-Event": CUSTOMER_REPLY}
    with pytest.raises(SignatureInvalid):
        accept(fixture("customer_reply"), headers=headers)


def test_a_tampered_body_is_401() -> None:
    body = body_of(fixture("customer_reply"))
    headers = sign("helpscout", SECRET, body)
    with pytest.raises(SignatureInvalid):
        accept(body.replace(b"refund", b"rebate"), headers=headers)


def test_lowercase_header_names_are_read() -> None:
    body = body_of(fixture("customer_reply"))
    headers = {k.lower(): v for k, v in sign("helpscout", SECRET, body).items()}
    assert accept(body, headers=headers).events


def test_a_missing_event_header_is_400() -> None:
    body = body_of(fixture("customer_reply"))
    headers = sign("helpscout", SECRET, body)
    del headers["X-HelpScout-Event"]
    with pytest.raises(PayloadInvalid) as raised:
        accept(body, headers=headers)
    assert raised.value.status_code == 400


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "Acme", "persona": "You help."})
    with pytest.raises(ChannelNotConfigured):
        accept(fixture("customer_reply"), bot=bot)


# --- parsing -----------------------------------------------------------------------------
@pytest.mark.parametrize("event", [CUSTOMER_REPLY, "convo.created"])
def test_the_newest_customer_thread_is_the_message(event: str) -> None:
    delivery = accept(fixture("customer_reply"), event)
    (message,) = delivery.events
    assert message.kind is EventKind.CUSTOMER
    assert (message.conversation_id, message.event_id) == ("2391938111", "88771")
    assert message.text == "How long does a refund take?"
    assert message.customer is not None
    assert (message.customer.id, message.customer.email, message.customer.name) == (
        "401",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert message.email and message.subject == "Refund question"


def test_threads_are_ordered_by_their_time_not_their_place() -> None:
    data = fixture("customer_reply")
    data["_embedded"]["threads"].reverse()
    (message,) = accept(data).events
    assert message.event_id == "88771"


def test_a_chat_is_not_an_email() -> None:
    (message,) = accept({**fixture("customer_reply"), "type": "chat"}).events
    assert not message.email


def test_a_conversation_with_no_customer_thread_is_ignored() -> None:
    data = fixture("customer_reply")
    data["_embedded"]["threads"] = [fixture("agent_reply")["_embedded"]["threads"][0]]
    delivery = accept(data, "convo.created")
    assert delivery.events == [] and "no customer thread" in delivery.ignored[0].reason


def test_a_customer_message_in_a_conversation_a_person_owns_is_recorded_not_answered() -> None:
    data = {**fixture("customer_reply"), "assignee": {"id": 101, "type": "user"}}
    owner, message = accept(data).events
    assert (owner.kind, owner.cause, owner.event_id) == (
        EventKind.MANUAL,
        ASSIGNMENT,
        "88771.owner",
    )
    assert message.kind is EventKind.CUSTOMER


def test_a_conversation_assigned_to_the_bot_user_is_answered() -> None:
    data = {**fixture("customer_reply"), "assignee": {"id": 100, "type": "user"}}
    (message,) = accept(data).events
    assert message.kind is EventKind.CUSTOMER


def test_an_agents_reply_is_manual_with_the_agents_words() -> None:
    (event,) = accept(fixture("agent_reply"), "convo.agent.reply.created").events
    assert (event.kind, event.cause, event.event_id) == (EventKind.MANUAL, AGENT_REPLY, "88772")
    assert event.text == "Hi Ada,\nI have issued the refund myself."
    assert event.reason == "an agent replied in Help Scout"


def test_the_bots_own_reply_is_ignored() -> None:
    delivery = accept(fixture("bot_reply"), "convo.agent.reply.created")
    assert delivery.events == [] and delivery.ignored[0].reason == "the bot's own reply"


def test_without_a_bot_user_the_marker_still_tells_the_bots_reply() -> None:
    delivery = accept(fixture("bot_reply"), "convo.agent.reply.created", bot=make_bot(None))
    assert delivery.events == []


def test_a_note_is_ignored() -> None:
    delivery = accept(fixture("note"), "convo.note.created")
    assert delivery.events == [] and delivery.ignored[0].reason == "a note"


def test_the_test_event_is_acknowledged() -> None:
    delivery = accept({"test": True}, "helpscout.test")
    assert delivery.events == [] and "test event" in delivery.ignored[0].reason


def test_an_assignment_to_a_person_is_manual() -> None:
    (event,) = accept(fixture("assigned"), "convo.assigned").events
    assert (event.kind, event.cause) == (EventKind.MANUAL, ASSIGNMENT)
    assert "101" in event.reason


def test_an_assignment_to_the_bot_user_gives_it_back() -> None:
    data = {**fixture("assigned"), "assignee": {"id": 100, "type": "user"}}
    (event,) = accept(data, "convo.assigned").events
    assert event.kind is EventKind.AUTO


def test_an_unassignment_is_ignored() -> None:
    delivery = accept({**fixture("assigned"), "assignee": None}, "convo.assigned")
    assert delivery.events == [] and delivery.ignored


@pytest.mark.parametrize("status", ["closed", "spam"])
def test_closed_or_spam_is_manual(status: str) -> None:
    data = {**fixture("status_closed"), "status": status}
    (event,) = accept(data, "convo.status").events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)


@pytest.mark.parametrize("status", ["active", "pending"])
def test_other_statuses_keep_the_bot(status: str) -> None:
    data = {**fixture("status_closed"), "status": status}
    delivery = accept(data, "convo.status")
    assert delivery.events == [] and delivery.ignored


# --- dedupe ------------------------------------------------------------------------------
def test_dedupe_ids_are_conversation_thread_and_event() -> None:
    first = accept(fixture("customer_reply")).delivery_id
    assert first == accept(fixture("customer_reply")).delivery_id
    assert first == f"2391938111:88771:{CUSTOMER_REPLY}"
    assert accept(fixture("customer_reply"), "convo.created").delivery_id != first


def test_two_assignments_with_the_same_newest_thread_differ() -> None:
    data = fixture("assigned")
    other = {**data, "assignee": {"id": 102, "type": "user"}}
    first = accept(data, "convo.assigned").delivery_id
    assert first != accept(other, "convo.assigned").delivery_id


# --- unknown events and wrong shapes -----------------------------------------------------
@pytest.mark.parametrize("event", ["convo.tags", "beacon.chat.customer.replied", "x" * 500])
def test_unknown_events_are_acknowledged_and_ignored(event: str) -> None:
    delivery = accept(fixture("customer_reply"), event)
    assert delivery.events == [] and "not acted on" in delivery.ignored[0].reason


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"id": "abc"},
        {"_embedded": {"threads": "none"}},
        {"_embedded": {"threads": [{"type": "customer", "body": "<p>hi</p>"}]}},  # no id
        {"primaryCustomer": None, "_embedded": {"threads": [{"id": 1, "type": "customer"}]}},
        {"assignee": "maria"},
    ],
)
def test_a_known_event_of_the_wrong_shape_is_422(change: dict[str, Any]) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept({**fixture("customer_reply"), **change})
    assert raised.value.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"\xff", b""])
def test_invalid_json_is_400(body: bytes) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(body)
    assert raised.value.status_code == 400


# --- robustness --------------------------------------------------------------------------
EVENTS = [CUSTOMER_REPLY, "convo.created", "convo.agent.reply.created", "convo.assigned"]
EVENTS += ["convo.status", "convo.note.created", "helpscout.test"]


def outcome(body: bytes, event: str) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: accept(body, event))


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200) | JSON_VALUES.map(lambda value: body_of(value)),
    st.sampled_from(EVENTS),
)
def test_any_signed_body_is_a_delivery_or_a_channel_error(body: bytes, event: str) -> None:
    assert isinstance(outcome(body, event), Delivery | ChannelError)


FIXTURE_EVENTS = [
    ("customer_reply", CUSTOMER_REPLY),
    ("agent_reply", "convo.agent.reply.created"),
    ("bot_reply", "convo.agent.reply.created"),
    ("assigned", "convo.assigned"),
    ("status_closed", "convo.status"),
]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(FIXTURE_EVENTS).flatmap(
        lambda pair: st.tuples(mutated(fixture(pair[0])), st.just(pair[1]))
    )
)
def test_any_mutated_fixture_is_a_delivery_or_a_channel_error(pair: tuple[Any, str]) -> None:
    data, event = pair
    assert isinstance(outcome(body_of(data), event), Delivery | ChannelError)
