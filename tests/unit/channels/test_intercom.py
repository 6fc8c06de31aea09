"""The Intercom channel: X-Hub-Signature (HMAC-SHA1 of the body, two secrets in rotation),
notifications parsed into canonical events, state sync, dedupe ids, robustness."""

import copy
import hashlib
import hmac
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
from agent.channels.intercom import IntercomChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import intercom as sign
from tools.context import Customer
from tools.ticketing.key_marker import with_marker

SECRET = "ic-client-secret-0123456789"
OLD_SECRET = "ic-client-secret-old-987654"
BOT_ADMIN = "991267001"
CHANNEL = IntercomChannel()


def make_bot(**channel: Any) -> BotConfig:
    desk = {"platform": "intercom", "access_token": "tok", "admin_id": BOT_ADMIN}
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "helpdesk": desk,
            "channels": {"intercom": {"client_secrets": [SECRET, OLD_SECRET], **channel}},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("intercom", name)


def accept(data: Any, headers: dict[str, str] | None = None, bot: BotConfig = BOT) -> Delivery:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    sent = sign(SECRET, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, {})


def item(data: dict[str, Any]) -> dict[str, Any]:
    conversation: dict[str, Any] = data["data"]["item"]
    return conversation


def latest_part(data: dict[str, Any]) -> dict[str, Any]:
    part: dict[str, Any] = item(data)["conversation_parts"]["conversation_parts"][-1]
    return part


# --- verification ------------------------------------------------------------------------
@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_either_secret_of_a_rotation_passes(secret: str) -> None:
    body = json.dumps(fixture("user_created")).encode()
    assert CHANNEL.accept(BOT, sign(secret, body), body, 300, {}).events


def test_the_signature_is_the_hex_hmac_sha1_of_the_raw_body() -> None:
    body = json.dumps(fixture("user_created"), indent=1).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert CHANNEL.accept(BOT, {"x-hub-signature": f"sha1={digest}"}, body, 300, {}).events


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature": ""},
        {"X-Hub-Signature": "sha1="},
        {"X-Hub-Signature": "sha256=" + "0" * 64},
        {"X-Hub-Signature": "not a signature"},
        {"X-Hub-Signature": "sha1=" + "0" * 40},
    ],
)
def test_a_missing_or_malformed_signature_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid) as raised:
        accept(fixture("user_created"), headers)
    assert raised.value.status_code == 401


def test_a_wrong_secret_is_401() -> None:
    body = json.dumps(fixture("user_created")).encode()
    with pytest.raises(SignatureInvalid):
        CHANNEL.accept(BOT, sign("another-secret-000", body), body, 300, {})


def test_a_tampered_body_is_401() -> None:
    body = json.dumps(fixture("user_created")).encode()
    headers = sign(SECRET, body)
    tampered = body.replace(b"refund", b"REFUND")
    with pytest.raises(SignatureInvalid):
        CHANNEL.accept(BOT, headers, tampered, 300, {})


def test_a_url_token_is_no_substitute_for_the_signature() -> None:
    token = "ic-url-token-0123456789"
    bot = make_bot(url_tokens=[token])
    body = json.dumps(fixture("user_created")).encode()
    with pytest.raises(SignatureInvalid):
        CHANNEL.accept(bot, {}, body, 300, {"token": token})


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    with pytest.raises(SignatureInvalid):
        accept(b"{not json", {"X-Hub-Signature": "sha1=" + "0" * 40})


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "A", "persona": "P"})
    with pytest.raises(ChannelNotConfigured):
        accept(fixture("user_created"), bot=bot)


# --- customers ---------------------------------------------------------------------------
def test_a_new_conversation_is_a_customer_message() -> None:
    delivery = accept(fixture("user_created"))
    (event,) = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert event.conversation_id == "123"
    assert event.event_id == "269650473"
    assert event.text == "How long does a refund take?"
    assert event.customer == Customer("5bc8f7ae2d96695c18a00001", "alex@example.com", "Alex Doe")
    assert not event.email
    assert delivery.delivery_id == "notif_9cc0ef6e-3dfd-47a9-a715-be6cf19a2700"


def test_a_reply_is_the_latest_customer_comment_as_text() -> None:
    (event,) = accept(fixture("user_replied")).events
    assert event.event_id == "2202737122"
    assert event.text == "My order never arrived.\nCan you check?"


def test_a_leads_self_typed_email_is_not_trusted() -> None:
    (event,) = accept(fixture("user_replied")).events
    assert event.customer == Customer("5bc8f7ae2d96695c18a00002", None, "Visitor")


def test_a_users_email_comes_from_the_contacts_when_the_author_has_none() -> None:
    data = fixture("user_replied")
    latest_part(data)["author"]["type"] = "user"
    (event,) = accept(data).events
    assert event.customer is not None and event.customer.email == "visitor@example.com"


@pytest.mark.parametrize(("field", "value"), [("type", "email"), ("delivered_as", "email")])
def test_an_email_conversation_is_marked_email(field: str, value: str) -> None:
    data = fixture("user_created")
    item(data)["source"][field] = value
    item(data)["source"]["subject"] = "Refund"
    item(data)["source"]["author"]["type"] = "lead"
    (event,) = accept(data).events
    assert event.email and event.subject == "Refund"
    assert event.customer is not None and event.customer.email == "alex@example.com"


def test_an_earlier_admin_part_does_not_hide_the_customers_comment() -> None:
    data = fixture("user_replied")
    parts = item(data)["conversation_parts"]["conversation_parts"]
    parts.append({"id": "9", "part_type": "comment", "author": {"type": "admin", "id": "1"}})
    (event,) = accept(data).events
    assert event.event_id == "2202737122"


def test_a_reply_without_a_customer_comment_is_ignored() -> None:
    data = fixture("user_replied")
    latest_part(data)["part_type"] = "open"
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


def test_a_message_with_no_text_is_ignored() -> None:
    data = fixture("user_replied")
    latest_part(data)["body"] = '<p><img src="https://x.test/a.png"></p>'
    delivery = accept(data)
    assert delivery.events == [] and "no text" in delivery.ignored[0].reason


@pytest.mark.parametrize(
    ("admin", "team", "owner"),
    [(991267002, None, "admin 991267002"), (None, "5017691", "team 5017691")],
)
def test_a_message_in_a_conversation_a_person_owns_is_recorded_not_answered(
    admin: Any, team: Any, owner: str
) -> None:
    data = fixture("user_replied")
    item(data).update(admin_assignee_id=admin, team_assignee_id=team)
    manual, message = accept(data).events
    assert manual.kind is EventKind.MANUAL and manual.cause == ASSIGNMENT
    assert manual.event_id == "2202737122.owner" and owner in manual.reason
    assert message.kind is EventKind.CUSTOMER


@pytest.mark.parametrize("admin", [int(BOT_ADMIN), BOT_ADMIN, None, 0, "0"])
def test_a_conversation_assigned_to_the_bot_or_nobody_is_answered(admin: Any) -> None:
    data = fixture("user_replied")
    item(data).update(admin_assignee_id=admin, team_assignee_id=None)
    assert [e.kind for e in accept(data).events] == [EventKind.CUSTOMER]


# --- people and the bot ------------------------------------------------------------------
def test_the_bots_own_reply_is_ignored() -> None:
    delivery = accept(fixture("admin_replied_bot"))
    assert delivery.events == []
    assert delivery.ignored[0].event_id == "2202737130"


def test_an_intercom_bot_reply_is_ignored() -> None:
    data = fixture("admin_replied_agent")
    latest_part(data)["author"]["type"] = "bot"
    assert accept(data).events == []


def test_a_reply_carrying_deskhands_marker_is_the_bots_own() -> None:
    data = fixture("admin_replied_agent")
    latest_part(data)["body"] = "<p>" + with_marker("Refunds take a week.", "m-1") + "</p>"
    assert accept(data).events == []


def test_an_agents_reply_is_manual_with_their_words() -> None:
    (event,) = accept(fixture("admin_replied_agent")).events
    assert event.kind is EventKind.MANUAL and event.cause == AGENT_REPLY
    assert event.text == "Hi Alex, I'll take it from here."
    assert event.event_id == "2202737140"
    assert event.reason == "an agent replied in Intercom"


def test_an_assignment_to_a_team_is_manual() -> None:
    (event,) = accept(fixture("admin_assigned")).events
    assert event.kind is EventKind.MANUAL and event.cause == ASSIGNMENT
    assert "team 5017691" in event.reason


def test_an_assignment_back_to_the_bot_is_auto() -> None:
    data = fixture("admin_assigned")
    item(data).update(admin_assignee_id=BOT_ADMIN, team_assignee_id=None)
    (event,) = accept(data).events
    assert event.kind is EventKind.AUTO


def test_an_unassignment_is_ignored() -> None:
    data = fixture("admin_assigned")
    item(data).update(admin_assignee_id=None, team_assignee_id=None)
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


def test_closing_is_manual_status() -> None:
    (event,) = accept(fixture("admin_closed")).events
    assert event.kind is EventKind.MANUAL and event.cause == STATUS


def test_closing_by_the_bot_is_ignored() -> None:
    data = fixture("admin_closed")
    latest_part(data)["author"]["id"] = BOT_ADMIN
    assert accept(data).events == []


@pytest.mark.parametrize("name", ["admin_noted", "ping"])
def test_notes_and_pings_are_acknowledged_and_ignored(name: str) -> None:
    delivery = accept(fixture(name))
    assert delivery.events == []
    assert delivery.ignored[0].event_id == fixture(name)["id"]


# --- dedupe ------------------------------------------------------------------------------
def test_the_delivery_id_is_the_notification_id_on_every_retry() -> None:
    data = fixture("user_replied")
    again = copy.deepcopy(data)
    again["delivery_attempts"] = 3
    assert accept(data).delivery_id == accept(again).delivery_id == data["id"]
    assert accept(data).events[0].event_id == accept(again).events[0].event_id


# --- wrong input -------------------------------------------------------------------------
@pytest.mark.parametrize("topic", ["contact.created", "conversation.operator.replied", ""])
def test_an_unknown_topic_is_acknowledged_and_ignored(topic: str) -> None:
    data = fixture("user_created")
    data["topic"] = topic
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("id"),
        lambda d: d.pop("topic"),
        lambda d: d.pop("data"),
        lambda d: d["data"].pop("item"),
        lambda d: d["data"]["item"].pop("id"),
        lambda d: d["data"]["item"]["source"].pop("author"),
        lambda d: d["data"]["item"].update(conversation_parts="x"),
    ],
)
def test_a_known_topic_of_the_wrong_shape_is_422(mutate: Any) -> None:
    data = fixture("user_created")
    mutate(data)
    with pytest.raises(PayloadInvalid) as raised:
        accept(data)
    assert raised.value.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b""])
def test_invalid_json_is_400(body: bytes) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(body)
    assert raised.value.status_code == 400


# --- robustness --------------------------------------------------------------------------
def _accepts_or_refuses(body: bytes) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: CHANNEL.accept(BOT, sign(SECRET, body), body, 300, {}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_a_delivery_or_a_channel_error(body: bytes) -> None:
    assert isinstance(_accepts_or_refuses(body), Delivery | ChannelError)


NAMES = ["user_created", "user_replied", "admin_replied_agent", "admin_assigned", "admin_closed"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES).flatmap(lambda name: mutated(fixture(name))))
def test_any_mutation_of_a_fixture_is_a_delivery_or_a_channel_error(data: Any) -> None:
    assert isinstance(_accepts_or_refuses(json.dumps(data).encode()), Delivery | ChannelError)
