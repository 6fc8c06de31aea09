"""The Zendesk channel: the webhook signature over the ISO-8601 timestamp and the body, the
event-subscription envelope parsed into canonical events, the ignore rules, state sync,
dedupe ids, and robustness against any body."""

import base64
import hashlib
import hmac
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
from agent.channels.zendesk import ZendeskChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sign
from tools.context import Customer
from tools.ticketing.key_marker import with_marker

SECRET = "zd-signing-secret-new-7e3b"
OLD_SECRET = "zd-signing-secret-old-1a9f"
BOT_AGENT_ID = "501"
CHANNEL = ZendeskChannel()


def make_bot(bot_agent_id: str | None = BOT_AGENT_ID, **channel: Any) -> BotConfig:
    helpdesk = {
        "platform": "zendesk",
        "subdomain": "acme",
        "email": "bot@acme.example",
        "api_token": "token",
        "bot_agent_id": bot_agent_id,
    }
    settings_ = {"signing_secrets": [SECRET, OLD_SECRET], **channel}
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "helpdesk": helpdesk,
            "channels": {"zendesk": settings_},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("zendesk", name)


def body_of(data: Any) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode()


def accept(data: Any, headers: dict[str, str] | None = None, bot: BotConfig = BOT) -> Delivery:
    body = body_of(data)
    sent = sign("zendesk", SECRET, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, {})


def signed_at(stamp: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


# --- verification ------------------------------------------------------------------------
def test_a_signed_delivery_passes() -> None:
    assert accept(fixture("comment_added_customer")).events


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_either_secret_passes_during_a_rotation(secret: str) -> None:
    body = body_of(fixture("comment_added_customer"))
    assert accept(body, sign("zendesk", secret, body)).events


def test_a_wrong_secret_is_refused() -> None:
    body = body_of(fixture("comment_added_customer"))
    with pytest.raises(SignatureInvalid, match="does not match") as raised:
        accept(body, sign("zendesk", "someone-else", body))
    assert raised.value.status_code == 401


def test_a_tampered_body_is_refused() -> None:
    body = body_of(fixture("comment_added_customer"))
    headers = sign("zendesk", SECRET, body)
    with pytest.raises(SignatureInvalid):
        accept(body.replace(b"refund", b"rebate"), headers)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"X-Zendesk-Webhook-Signature": ""}, "signature header is missing"),
        ({"X-Zendesk-Webhook-Signature-Timestamp": ""}, "Timestamp header is missing"),
        ({"X-Zendesk-Webhook-Signature-Timestamp": "tuesday"}, "not an ISO-8601"),
        ({"X-Zendesk-Webhook-Signature-Timestamp": "2026-13-45T99:00:00Z"}, "not an ISO-8601"),
        ({"X-Zendesk-Webhook-Signature-Timestamp": "\u00b2" * 10}, "not an ISO-8601"),
        ({"X-Zendesk-Webhook-Signature": "not base64 at all"}, "does not match"),
    ],
)
def test_malformed_signature_headers_are_refused(change: dict[str, str], problem: str) -> None:
    body = body_of(fixture("comment_added_customer"))
    headers = {**sign("zendesk", SECRET, body), **change}
    with pytest.raises(SignatureInvalid, match=problem):
        accept(body, headers)


def test_no_headers_at_all_is_refused() -> None:
    with pytest.raises(SignatureInvalid):
        accept(fixture("comment_added_customer"), {})


@pytest.mark.parametrize(("offset", "problem"), [(-301, "old"), (301, "future")])
def test_a_stale_or_future_timestamp_is_refused(offset: int, problem: str) -> None:
    body = body_of(fixture("comment_added_customer"))
    headers = sign("zendesk", SECRET, body, timestamp=time.time() + offset)
    with pytest.raises(SignatureInvalid, match=problem):
        accept(body, headers)


def test_a_timestamp_with_an_offset_or_fraction_is_read_as_signed() -> None:
    body = body_of(fixture("comment_added_customer"))
    now = time.gmtime(time.time() - 60)
    with_offset = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", now)
    fraction = time.strftime("%Y-%m-%dT%H:%M:%S.123Z", now)
    for stamp in (with_offset, fraction):
        assert accept(body, signed_at(stamp, body)).events


def test_a_url_token_cannot_replace_the_signature() -> None:
    bot = make_bot(url_tokens=["zd-url-token-0123456789ab"])
    body = body_of(fixture("comment_added_customer"))
    with pytest.raises(SignatureInvalid):
        CHANNEL.accept(bot, {}, body, 300, {"token": "zd-url-token-0123456789ab"})


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "Acme", "persona": "You help."})
    with pytest.raises(ChannelNotConfigured):
        accept(fixture("comment_added_customer"), bot=bot)


# --- parsing -------------------------------------------------------------------------------
def test_an_end_users_public_comment_becomes_a_customer_event() -> None:
    delivery = accept(fixture("comment_added_customer"))
    [event] = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert (event.conversation_id, event.event_id) == ("35438", "35500")
    assert event.text == "How long does a refund take?"
    assert event.customer == Customer("35437", None, "Ada Lovelace")
    assert event.subject == "Refund question" and not event.email


def test_numeric_ids_are_read_as_strings() -> None:
    data = fixture("comment_added_customer")
    data["detail"]["id"] = 35438
    data["event"]["comment"]["id"] = 35500
    [event] = accept(data).events
    assert (event.conversation_id, event.event_id) == ("35438", "35500")


def test_an_email_ticket_is_marked() -> None:
    [event] = accept(fixture("comment_added_email")).events
    assert event.email and event.subject == "Re: Refund for BL-10217"


def test_a_cc_commenting_is_answered_for_the_requester() -> None:
    data = fixture("comment_added_customer")
    data["event"]["comment"]["author"] = {"id": "40000", "is_staff": False, "name": "Bob"}
    [event] = accept(data).events
    assert event.customer == Customer("35437", None, None)


def test_a_customer_comment_on_a_ticket_a_person_holds_is_recorded_not_answered() -> None:
    data = fixture("comment_added_customer")
    data["detail"]["assignee_id"] = "502"
    owner, message = accept(data).events
    assert (owner.kind, owner.cause, owner.event_id) == (
        EventKind.MANUAL,
        ASSIGNMENT,
        "35500.owner",
    )
    assert message.kind is EventKind.CUSTOMER


def test_a_ticket_assigned_to_the_bot_is_still_the_bots() -> None:
    data = fixture("comment_added_customer")
    data["detail"]["assignee_id"] = BOT_AGENT_ID
    [event] = accept(data).events
    assert event.kind is EventKind.CUSTOMER


def test_a_staff_public_comment_is_an_agent_reply() -> None:
    [event] = accept(fixture("comment_added_agent_reply")).events
    assert (event.kind, event.cause, event.event_id) == (EventKind.MANUAL, AGENT_REPLY, "35510")
    assert event.text.startswith("Hi Ada, Hana here")


# --- ignore rules ----------------------------------------------------------------------------
def test_the_bots_own_comment_is_ignored_not_manual() -> None:
    delivery = accept(fixture("comment_added_bot_reply"))
    assert delivery.events == []
    assert [(i.event_id, i.reason) for i in delivery.ignored] == [
        ("35501", "the bot's own comment")
    ]


def test_bot_author_ids_name_the_bot_without_a_helpdesk_agent_id() -> None:
    bot = make_bot(bot_agent_id=None, bot_author_ids=["501"])
    assert accept(fixture("comment_added_bot_reply"), bot=bot).events == []


def test_a_staff_comment_carrying_deskhands_marker_is_the_bots() -> None:
    bot = make_bot(bot_agent_id=None)
    data = fixture("comment_added_bot_reply")
    data["event"]["comment"]["body"] = with_marker("Refunds take 5–7 days.", "turn-1:reply")
    assert accept(data, bot=bot).events == []


def test_a_private_comment_is_ignored() -> None:
    delivery = accept(fixture("comment_added_private_note"))
    assert delivery.events == []
    assert delivery.ignored[0].reason == "a private comment (an internal note)"


@pytest.mark.parametrize(
    "kind",
    ["zen:event-type:ticket.priority_changed", "zen:event-type:user.created", "zen:event-type:x"],
)
def test_other_event_types_are_acknowledged_and_ignored(kind: str) -> None:
    delivery = accept({**fixture("status_changed_solved"), "type": kind})
    assert delivery.events == [] and len(delivery.ignored) == 1


def test_changes_the_bot_made_are_ignored() -> None:
    data = fixture("status_changed_solved")
    data["detail"]["actor_id"] = BOT_AGENT_ID
    delivery = accept(data)
    assert delivery.events == [] and delivery.ignored[0].reason == "a change the bot made"


# --- state sync ----------------------------------------------------------------------------
def test_an_assignment_to_a_person_is_manual() -> None:
    [event] = accept(fixture("agent_assignment_changed")).events
    assert (event.kind, event.cause, event.conversation_id) == (
        EventKind.MANUAL,
        ASSIGNMENT,
        "35438",
    )
    assert "502" in event.reason


def test_an_assignment_to_the_bots_agent_gives_it_back() -> None:
    data = fixture("agent_assignment_changed")
    data["event"]["current"] = int(BOT_AGENT_ID)
    assert accept(data).events[0].kind is EventKind.AUTO


def test_an_unassignment_is_ignored() -> None:
    data = fixture("agent_assignment_changed")
    data["event"] = {"current": None, "previous": "502"}
    assert accept(data).events == []


def test_a_group_assignment_is_manual() -> None:
    data = {
        **fixture("agent_assignment_changed"),
        "type": "zen:event-type:ticket.group_assignment_changed",
    }
    data["event"] = {"current": "602", "previous": "601"}
    [event] = accept(data).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, ASSIGNMENT)
    assert "group 602" in event.reason


@pytest.mark.parametrize("status", ["SOLVED", "CLOSED", "solved"])
def test_solving_or_closing_is_manual_status(status: str) -> None:
    data = fixture("status_changed_solved")
    data["event"]["current"] = status
    [event] = accept(data).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)


@pytest.mark.parametrize("status", ["OPEN", "PENDING", "HOLD", None])
def test_other_status_changes_are_ignored(status: str | None) -> None:
    data = fixture("status_changed_solved")
    data["event"]["current"] = status
    assert accept(data).events == []


# --- dedupe ids --------------------------------------------------------------------------------
def test_the_invocation_id_is_the_dedupe_id_across_retries() -> None:
    body = body_of(fixture("comment_added_customer"))
    first = accept(body, sign("zendesk", SECRET, body, delivery_id="inv-1"))
    retry = accept(body, sign("zendesk", SECRET, body, delivery_id="inv-1"))
    assert first.delivery_id == retry.delivery_id == "inv-1"
    assert first.events == retry.events


def test_without_the_invocation_id_the_event_id_is_the_dedupe_id() -> None:
    body = body_of(fixture("comment_added_customer"))
    headers = sign("zendesk", SECRET, body)
    del headers["X-Zendesk-Webhook-Invocation-Id"]
    assert accept(body, headers).delivery_id == "01JH2W7ZQ4V8R6N3C1X5T9B2KD"


# --- wrong shapes ----------------------------------------------------------------------------
def test_invalid_json_is_400() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(b"\xff\xfe")
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"ticket_id": "35438", "latest_comment": "a trigger's custom body"},
        {"type": "something.else"},
        {**fixture("comment_added_customer"), "detail": {"id": "abc"}},
        {**fixture("comment_added_customer"), "event": {"comment": {"id": "1"}}},
        {**fixture("comment_added_customer"), "id": ""},
    ],
)
def test_an_unsupported_shape_is_422(data: Any) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(data)
    assert raised.value.status_code == 422


# --- robustness --------------------------------------------------------------------------------
def accepts_or_refuses(data: Any) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: accept(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_signed_bytes_are_accepted_or_refused_cleanly(body: bytes) -> None:
    assert isinstance(accepts_or_refuses(body), Delivery | ChannelError)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_any_signed_json_is_accepted_or_refused_cleanly(value: Any) -> None:
    assert isinstance(accepts_or_refuses(value), Delivery | ChannelError)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_timestamp_header_is_accepted_or_refused_cleanly(stamp: str) -> None:
    body = body_of(fixture("comment_added_customer"))
    assert isinstance(
        delivery_or_refusal(lambda: accept(body, signed_at(stamp, body))), Delivery | ChannelError
    )


FUZZED = [
    "comment_added_customer",
    "comment_added_agent_reply",
    "agent_assignment_changed",
    "status_changed_solved",
]


@pytest.mark.parametrize("name", FUZZED)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_damaged_fixture_is_accepted_or_refused_cleanly(name: str, data: st.DataObject) -> None:
    assert isinstance(
        accepts_or_refuses(data.draw(mutated(fixture(name)))), Delivery | ChannelError
    )
