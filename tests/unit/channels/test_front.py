"""The Front channel: X-Front-Signature (base64 HMAC-SHA256 of "{ts ms}:{body}") within the
replay window, the sync challenge, application webhook events parsed into canonical
events, state sync, dedupe on the event id, robustness."""

import json
import time
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
from agent.channels.front import FrontChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sign

KEY = "front-signing-key-new"
OLD_KEY = "front-signing-key-old"
BOT_TEAMMATE = "tea_bot"
TOLERANCE_S = 300
CHANNEL = FrontChannel()
BOT = BotConfig.model_validate(
    {
        "tenant": "acme",
        "company": "Acme",
        "persona": "You help.",
        "helpdesk": {"platform": "front", "api_token": "token", "teammate_id": BOT_TEAMMATE},
        "channels": {"front": {"signing_keys": [KEY, OLD_KEY]}},
    }
)


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("front", name)


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode()


def accept(data: Any, headers: dict[str, str] | None = None, bot: BotConfig = BOT) -> Delivery:
    body = data if isinstance(data, bytes) else body_of(data)
    sent = sign("front", KEY, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, TOLERANCE_S, {})


# --- verification ------------------------------------------------------------------------
@pytest.mark.parametrize("key", [KEY, OLD_KEY])
def test_either_key_passes_during_a_rotation(key: str) -> None:
    body = body_of(fixture("inbound_received"))
    assert accept(body, sign("front", key, body)).events


def test_a_wrong_key_is_401() -> None:
    body = body_of(fixture("inbound_received"))
    with pytest.raises(SignatureInvalid, match="does not match"):
        accept(body, sign("front", "another-key", body))


def test_a_missing_signature_is_401() -> None:
    body = body_of(fixture("inbound_received"))
    headers = sign("front", KEY, body)
    del headers["X-Front-Signature"]
    with pytest.raises(SignatureInvalid, match="missing"):
        accept(body, headers)


@pytest.mark.parametrize("timestamp", [None, "", "soon", "１２３", "1" * 20, "-5"])
def test_a_missing_or_malformed_timestamp_is_401(timestamp: str | None) -> None:
    body = body_of(fixture("inbound_received"))
    headers = sign("front", KEY, body)
    if timestamp is None:
        del headers["X-Front-Request-Timestamp"]
    else:
        headers["X-Front-Request-Timestamp"] = timestamp
    with pytest.raises(SignatureInvalid):
        accept(body, headers)


@pytest.mark.parametrize("signature", ["garbage", "sha256=abc", "=" * 44])
def test_a_malformed_signature_is_401(signature: str) -> None:
    body = body_of(fixture("inbound_received"))
    headers = {**sign("front", KEY, body), "X-Front-Signature": signature}
    with pytest.raises(SignatureInvalid):
        accept(body, headers)


def test_a_tampered_body_is_401() -> None:
    body = body_of(fixture("inbound_received"))
    headers = sign("front", KEY, body)
    with pytest.raises(SignatureInvalid):
        accept(body.replace(b"refund", b"rebate"), headers)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    body = body_of(fixture("inbound_received"))
    headers = sign("front", KEY, body)
    headers["X-Front-Request-Timestamp"] = str(int(headers["X-Front-Request-Timestamp"]) + 1)
    with pytest.raises(SignatureInvalid, match="does not match"):
        accept(body, headers)


@pytest.mark.parametrize("skew_s", [-TOLERANCE_S - 5, TOLERANCE_S + 5])
def test_stale_and_future_timestamps_are_401(skew_s: int) -> None:
    body = body_of(fixture("inbound_received"))
    headers = sign("front", KEY, body, timestamp=time.time() + skew_s)
    with pytest.raises(SignatureInvalid, match=r"s old|future"):
        accept(body, headers)


@pytest.mark.parametrize("skew_s", [-TOLERANCE_S + 5, TOLERANCE_S - 5])
def test_timestamps_inside_the_window_pass(skew_s: int) -> None:
    body = body_of(fixture("inbound_received"))
    assert accept(body, sign("front", KEY, body, timestamp=time.time() + skew_s)).events


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "Acme", "persona": "You help."})
    with pytest.raises(ChannelNotConfigured):
        accept(fixture("inbound_received"), bot=bot)


# --- the sync challenge ------------------------------------------------------------------
def test_the_sync_request_is_answered_with_its_challenge() -> None:
    body = body_of(fixture("sync"))
    delivery = accept(body, sign("front", KEY, body, challenge="ch-7f3a"))
    assert delivery.response == {"challenge": "ch-7f3a"}
    assert delivery.events == [] and delivery.ignored == []


def test_the_sync_request_must_be_signed() -> None:
    body = body_of(fixture("sync"))
    with pytest.raises(SignatureInvalid):
        accept(body, sign("front", "another-key", body, challenge="ch-7f3a"))


def test_a_sync_request_without_a_challenge_is_400() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(fixture("sync"))
    assert raised.value.status_code == 400


# --- parsing -----------------------------------------------------------------------------
def test_an_inbound_message_is_a_customer_event() -> None:
    delivery = accept(fixture("inbound_received"))
    assert delivery.delivery_id == "evt_3s78kxhw" and delivery.response is None
    (event,) = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert (event.conversation_id, event.event_id) == ("cnv_1042nr10", "msg_1sagx9sk")
    assert event.text == "How long does a refund take?"
    assert event.customer is not None
    assert (event.customer.id, event.customer.email, event.customer.name) == (
        "ada@example.com",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert event.email and event.subject == "Refund question"


def test_the_html_body_is_used_when_there_is_no_text() -> None:
    data = fixture("inbound_received")
    del data["payload"]["target"]["data"]["text"]
    (event,) = accept(data).events
    assert event.text == "How long does a refund take?"


def test_an_sms_is_not_an_email_and_its_handle_is_no_address() -> None:
    data = fixture("inbound_received")
    message = data["payload"]["target"]["data"]
    message["type"] = "sms"
    message["recipients"][0]["handle"] = "+15551234567"
    (event,) = accept(data).events
    assert not event.email
    assert event.customer is not None and event.customer.email is None
    assert event.customer.id == "+15551234567"


def test_a_customer_message_in_a_conversation_a_teammate_owns_is_recorded_not_answered() -> None:
    data = fixture("inbound_received")
    data["payload"]["conversation"]["assignee"] = {"id": "tea_agent"}
    owner, message = accept(data).events
    assert (owner.kind, owner.cause) == (EventKind.MANUAL, ASSIGNMENT)
    assert owner.event_id == "msg_1sagx9sk.owner" and "tea_agent" in owner.reason
    assert message.kind is EventKind.CUSTOMER


def test_a_conversation_assigned_to_the_bot_is_answered() -> None:
    data = fixture("inbound_received")
    data["payload"]["conversation"]["assignee"] = {"id": BOT_TEAMMATE}
    (event,) = accept(data).events
    assert event.kind is EventKind.CUSTOMER


def test_a_teammates_reply_is_manual_with_their_words() -> None:
    (event,) = accept(fixture("outbound_sent_agent")).events
    assert (event.kind, event.cause, event.event_id) == (
        EventKind.MANUAL,
        AGENT_REPLY,
        "msg_1sagx9sl",
    )
    assert event.text == "Hi Ada,\nI have issued the refund myself."
    assert event.reason == "an agent replied in Front"


def test_the_bots_own_message_is_ignored() -> None:
    delivery = accept(fixture("outbound_sent_bot"))
    assert delivery.events == [] and delivery.ignored[0].reason == "the bot's own message"


def test_an_internal_comment_is_ignored() -> None:
    delivery = accept(fixture("new_comment_added"))
    assert delivery.delivery_id == "evt_3s78kxi1"
    assert delivery.events == [] and delivery.ignored[0].reason == "an internal comment"


def test_an_assignment_to_a_teammate_is_manual() -> None:
    (event,) = accept(fixture("assignee_changed")).events
    assert (event.kind, event.cause, event.conversation_id) == (
        EventKind.MANUAL,
        ASSIGNMENT,
        "cnv_1042nr10",
    )


def test_an_assignment_to_the_bot_gives_it_back() -> None:
    data = fixture("assignee_changed")
    data["payload"]["target"]["data"] = {"id": BOT_TEAMMATE}
    (event,) = accept(data).events
    assert event.kind is EventKind.AUTO


def test_an_unassignment_is_ignored() -> None:
    data = fixture("assignee_changed")
    data["payload"]["target"] = None
    data["payload"]["conversation"]["assignee"] = None
    delivery = accept(data)
    assert delivery.events == [] and delivery.ignored[0].reason == "unassigned"


@pytest.mark.parametrize("kind", ["conversation_archived", "conversation_deleted"])
def test_archiving_or_deleting_is_manual(kind: str) -> None:
    (event,) = accept({**fixture("conversation_archived"), "type": kind}).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)


def test_archiving_by_the_bot_is_ignored() -> None:
    data = fixture("conversation_archived")
    data["payload"]["source"]["data"] = {"id": BOT_TEAMMATE}
    delivery = accept(data)
    assert delivery.events == [] and "by the bot" in delivery.ignored[0].reason


# --- dedupe ------------------------------------------------------------------------------
def test_the_event_id_is_the_dedupe_id_across_retries() -> None:
    first = accept(fixture("inbound_received")).delivery_id
    assert first == accept(fixture("inbound_received")).delivery_id == "evt_3s78kxhw"


# --- unknown events and wrong shapes -----------------------------------------------------
@pytest.mark.parametrize("kind", ["tag_added", "conversation_moved", None, 7])
def test_unknown_events_are_acknowledged_and_ignored(kind: Any) -> None:
    delivery = accept({**fixture("inbound_received"), "type": kind})
    assert delivery.events == [] and "not acted on" in delivery.ignored[0].reason
    assert delivery.delivery_id == "evt_3s78kxhw"


@pytest.mark.parametrize(
    "change",
    [
        {"payload": None},
        {"payload": {"id": "evt_1"}},  # no conversation
        {"payload": {"id": "evt_1", "conversation": {"id": "cnv_1"}}},  # no target
        {"payload": {"id": "evt_1", "conversation": {"id": "cnv 1/.."}, "target": None}},
    ],
)
def test_a_known_event_of_the_wrong_shape_is_422(change: dict[str, Any]) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept({**fixture("inbound_received"), **change})
    assert raised.value.status_code == 422


def test_a_message_without_a_sender_is_422() -> None:
    data = fixture("inbound_received")
    data["payload"]["target"]["data"]["recipients"] = []
    with pytest.raises(PayloadInvalid, match="sender"):
        accept(data)


def test_a_body_that_is_not_an_object_is_422() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept([1, 2])
    assert raised.value.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"\xff", b""])
def test_invalid_json_is_400(body: bytes) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(body)
    assert raised.value.status_code == 400


# --- robustness --------------------------------------------------------------------------
def outcome(body: bytes) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: accept(body, sign("front", KEY, body, challenge="c")))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda value: body_of(value)))
def test_any_signed_body_is_a_delivery_or_a_channel_error(body: bytes) -> None:
    assert isinstance(outcome(body), Delivery | ChannelError)


FIXTURE_NAMES = [
    "inbound_received",
    "outbound_sent_agent",
    "outbound_sent_bot",
    "assignee_changed",
    "conversation_archived",
    "sync",
]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FIXTURE_NAMES).flatmap(lambda name: mutated(fixture(name))))
def test_any_mutated_fixture_is_a_delivery_or_a_channel_error(data: Any) -> None:
    assert isinstance(outcome(body_of(data)), Delivery | ChannelError)
