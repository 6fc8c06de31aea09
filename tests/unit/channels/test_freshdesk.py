"""The Freshdesk channel: the shared token (header, Basic auth, URL), the documented body
template parsed into events, state sync, synthetic dedupe ids, robustness."""

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
from agent.channels.freshdesk import FreshdeskChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sign

TOKEN = "fd-token-0123456789abcdef"
OLD_TOKEN = "fd-token-old-0123456789ab"
URL_TOKEN = "fd-url-token-0123456789ab"
BOT_EMAIL = "deskhand-bot@acme.example"
CHANNEL = FreshdeskChannel()


def make_bot(**channel: Any) -> BotConfig:
    config = {"tokens": [TOKEN, OLD_TOKEN], "bot_agent_emails": [BOT_EMAIL], **channel}
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "helpdesk": {
                "platform": "freshdesk",
                "base_url": "https://acme.freshdesk.com",
                "api_key": "key",
            },
            "channels": {"freshdesk": config},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("freshdesk", name)


def body_of(data: Any) -> bytes:
    return json.dumps(data).encode()


def accept(
    data: Any,
    headers: dict[str, str] | None = None,
    bot: BotConfig = BOT,
    query: dict[str, str] | None = None,
) -> Delivery:
    body = data if isinstance(data, bytes) else body_of(data)
    sent = sign("freshdesk", TOKEN, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, query or {})


# --- authentication ----------------------------------------------------------------------
def test_the_token_header_passes() -> None:
    assert accept(fixture("customer_reply")).events


@pytest.mark.parametrize("token", [TOKEN, OLD_TOKEN])
def test_either_token_passes_during_a_rotation(token: str) -> None:
    body = body_of(fixture("customer_reply"))
    assert accept(body, sign("freshdesk", token, body)).events


def test_basic_auth_with_the_token_as_password_passes() -> None:
    body = body_of(fixture("customer_reply"))
    assert accept(body, sign("freshdesk", TOKEN, body, basic=True)).events


def test_a_custom_header_name_is_honoured() -> None:
    bot = make_bot(header="X-Acme-Secret")
    body = body_of(fixture("customer_reply"))
    assert accept(body, {"x-acme-secret": TOKEN}, bot=bot).events
    with pytest.raises(SignatureInvalid):
        accept(body, {"X-Deskhand-Token": TOKEN}, bot=bot)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Deskhand-Token": "fd-token-wrong-0123456789"},
        {"X-Deskhand-Token": TOKEN[:-1]},
        {"Authorization": "Basic " + "bm90OmJhc2U2NA==="},  # malformed base64
        {"Authorization": "Bearer " + TOKEN},
        sign("freshdesk", "fd-token-wrong-0123456789", b"", basic=True),
    ],
)
def test_a_wrong_or_malformed_token_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid) as raised:
        accept(fixture("customer_reply"), headers)
    assert raised.value.status_code == 401


def test_a_missing_token_is_401() -> None:
    with pytest.raises(SignatureInvalid, match="no token"):
        accept(fixture("customer_reply"), {})


def test_the_url_token_passes_only_where_configured() -> None:
    bot = make_bot(url_tokens=[URL_TOKEN])
    assert accept(fixture("customer_reply"), {}, bot=bot, query={"token": URL_TOKEN}).events
    with pytest.raises(SignatureInvalid):
        accept(fixture("customer_reply"), {}, bot=bot, query={"token": TOKEN + "x"})
    with pytest.raises(SignatureInvalid):  # no url_tokens: a URL token is not enough
        accept(fixture("customer_reply"), {}, query={"token": TOKEN})


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "Acme", "persona": "You help."})
    with pytest.raises(ChannelNotConfigured):
        accept(fixture("customer_reply"), bot=bot)


def test_the_token_is_checked_before_the_body() -> None:
    with pytest.raises(SignatureInvalid):
        accept(b"not json", {})


# --- parsing -----------------------------------------------------------------------------
def test_a_customer_reply_becomes_a_customer_event() -> None:
    delivery = accept(fixture("customer_reply"))
    (event,) = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert (event.conversation_id, event.text) == ("101", "How long does a refund take?")
    assert event.customer is not None
    assert (event.customer.id, event.customer.email, event.customer.name) == (
        "102",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert event.email and event.subject == "Refund question"
    assert event.event_id == delivery.delivery_id


def test_a_new_tickets_description_is_the_message() -> None:
    (event,) = accept(fixture("ticket_created")).events
    assert event.kind is EventKind.CUSTOMER
    assert event.text == "Hello,\nmy lamp arrived broken."
    assert not event.email  # source Portal


@pytest.mark.parametrize("source", ["Email", "email", "1", 1])
def test_email_sources(source: Any) -> None:
    (event,) = accept({**fixture("customer_reply"), "source": source}).events
    assert event.email


def test_numbers_are_taken_where_strings_are_expected() -> None:
    data = {**fixture("customer_reply"), "ticket_id": 101, "requester_id": 102}
    (event,) = accept(data).events
    assert (event.conversation_id, event.customer and event.customer.id) == ("101", "102")


def test_the_email_is_the_customer_id_without_a_requester_id() -> None:
    data = {**fixture("customer_reply"), "requester_id": ""}
    (event,) = accept(data).events
    assert event.customer is not None and event.customer.id == "ada@example.com"


def test_a_customer_reply_on_a_ticket_a_person_owns_is_recorded_not_answered() -> None:
    data = {**fixture("customer_reply"), "agent_email": "maria@acme.example"}
    owner, message = accept(data).events
    assert (owner.kind, owner.cause) == (EventKind.MANUAL, ASSIGNMENT)
    assert owner.event_id == f"{message.event_id}.owner"
    assert "maria@acme.example" in owner.reason
    assert message.kind is EventKind.CUSTOMER


def test_a_ticket_assigned_to_the_bots_agent_is_still_the_bots() -> None:
    data = {**fixture("customer_reply"), "agent_email": BOT_EMAIL.upper()}
    (event,) = accept(data).events
    assert event.kind is EventKind.CUSTOMER


def test_an_agents_reply_is_manual_with_the_agents_words() -> None:
    (event,) = accept(fixture("agent_reply")).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, AGENT_REPLY)
    assert event.text == "Hi Ada, I have issued the refund myself."
    assert event.reason == "an agent replied in Freshdesk"


def test_the_bots_own_reply_is_ignored() -> None:
    delivery = accept(fixture("bot_reply"))
    assert delivery.events == []
    assert delivery.ignored[0].reason == "the bot's own reply"


def test_an_assignment_to_a_person_is_manual() -> None:
    (event,) = accept(fixture("assigned")).events
    assert (event.kind, event.cause, event.conversation_id) == (
        EventKind.MANUAL,
        ASSIGNMENT,
        "101",
    )


@pytest.mark.parametrize("agent", ["", BOT_EMAIL])
def test_an_assignment_to_nobody_or_the_bot_is_ignored(agent: str) -> None:
    delivery = accept({**fixture("assigned"), "agent_email": agent})
    assert delivery.events == [] and delivery.ignored


@pytest.mark.parametrize("status", ["Resolved", "Closed", "4", "5"])
def test_a_resolved_or_closed_ticket_is_manual(status: str) -> None:
    (event,) = accept({**fixture("status_resolved"), "status": status}).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)


@pytest.mark.parametrize("status", ["Open", "Pending", "2"])
def test_other_statuses_keep_the_bot(status: str) -> None:
    delivery = accept({**fixture("status_resolved"), "status": status})
    assert delivery.events == [] and delivery.ignored


# --- dedupe ------------------------------------------------------------------------------
def test_dedupe_ids_are_stable_across_retries_and_differ_per_message() -> None:
    first = accept(fixture("customer_reply")).delivery_id
    again = accept(fixture("customer_reply")).delivery_id
    other = {**fixture("customer_reply"), "latest_public_comment": "<div>And a second?</div>"}
    assert first == again != accept(other).delivery_id
    assert first.startswith("101:customer_reply:")


def test_each_kind_of_event_has_its_own_id() -> None:
    ids = {accept(fixture(name)).delivery_id for name in ("customer_reply", "agent_reply")}
    ids |= {accept(fixture(name)).delivery_id for name in ("assigned", "status_resolved")}
    assert len(ids) == 4


# --- unknown events and wrong shapes -----------------------------------------------------
def test_an_unknown_event_is_acknowledged_and_ignored() -> None:
    delivery = accept({**fixture("customer_reply"), "event": "ticket_merged"})
    assert delivery.events == [] and "unknown event" in delivery.ignored[0].reason


@pytest.mark.parametrize(
    "change",
    [
        {"ticket_id": "{{ticket.id}}"},  # a placeholder Freshdesk did not render
        {"ticket_id": ""},
        {"ticket_id": ["101"]},
        {"event": None},
        {"requester_id": "", "requester_email": ""},
        {"latest_public_comment": {"text": "hi"}},
    ],
)
def test_a_known_event_of_the_wrong_shape_is_422(change: dict[str, Any]) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept({**fixture("customer_reply"), **change})
    assert raised.value.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b""])
def test_invalid_json_is_400(body: bytes) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(body)
    assert raised.value.status_code == 400


def test_a_body_that_is_not_an_object_is_422() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept([fixture("customer_reply")])
    assert raised.value.status_code == 422


# --- robustness --------------------------------------------------------------------------
def outcome(body: bytes) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: accept(body))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda value: body_of(value)))
def test_any_authenticated_body_is_a_delivery_or_a_channel_error(body: bytes) -> None:
    assert isinstance(outcome(body), Delivery | ChannelError)


FIXTURE_NAMES = ["customer_reply", "agent_reply", "assigned", "status_resolved", "ticket_created"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FIXTURE_NAMES).flatmap(lambda name: mutated(fixture(name))))
def test_any_mutated_fixture_is_a_delivery_or_a_channel_error(data: Any) -> None:
    assert isinstance(outcome(body_of(data)), Delivery | ChannelError)
