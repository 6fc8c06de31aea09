"""The Sunshine Conversations channel: the X-API-Key shared secret, batched events parsed
into canonical events, the switchboard's ownership, dedupe ids, robustness."""

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.channels.base import (
    ASSIGNMENT,
    ChannelError,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    PayloadInvalid,
    SignatureInvalid,
)
from agent.channels.sunshine import SunshineChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sunshine as sign
from tools.context import Customer

API_KEY = "sunco-webhook-secret-0123456789"
OLD_API_KEY = "sunco-webhook-secret-old-98765"
BOT_INTEGRATION = "5f11a650e4e987667c2051d1"
CONVERSATION = "f52b01137aa6c250bc7251fa"
CHANNEL = SunshineChannel()


def make_bot(**channel: Any) -> BotConfig:
    config = {
        "api_keys": [API_KEY, OLD_API_KEY],
        "app_id": "5ebee0975ac5304b664a12fa",
        "key_id": "app_5f0ebd9b0fa1c6001f38e3f1",
        "key_secret": "sunco-key-secret",
        "integration_id": BOT_INTEGRATION,
        **channel,
    }
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "channels": {"sunshine": config},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("sunshine", name)


def accept(data: Any, headers: dict[str, str] | None = None, bot: BotConfig = BOT) -> Delivery:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    sent = sign(API_KEY, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, {})


def with_active(data: dict[str, Any], active: dict[str, Any] | None) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    conversation = changed["events"][0]["payload"]["conversation"]
    conversation.pop("activeSwitchboardIntegration")
    if active is not None:
        conversation["activeSwitchboardIntegration"] = active
    return changed


AGENT_WORKSPACE = {
    "id": "5eecde2dcdbffb08f5c3ed38",
    "name": "zd-agentWorkspace",
    "integrationId": "5f11a650e4e987667c2051d2",
    "integrationType": "zd:agentWorkspace",
}


# --- authentication ----------------------------------------------------------------------
@pytest.mark.parametrize("key", [API_KEY, OLD_API_KEY])
def test_either_key_of_a_rotation_passes(key: str) -> None:
    body = json.dumps(fixture("customer_message")).encode()
    assert CHANNEL.accept(BOT, {"X-API-Key": key}, body, 300, {}).events


def test_the_header_name_is_case_insensitive() -> None:
    assert accept(fixture("customer_message"), {"x-api-key": API_KEY}).events


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "wrong-secret-0123456789"},
        {"X-API-Key": API_KEY + "x"},
        {"X-API-Key": API_KEY[:-1]},
        {"Authorization": f"Bearer {API_KEY}"},
    ],
)
def test_a_missing_or_wrong_key_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid) as raised:
        accept(fixture("customer_message"), headers)
    assert raised.value.status_code == 401
    assert API_KEY not in str(raised.value)


def test_a_url_token_is_no_substitute_for_the_key() -> None:
    bot = make_bot(url_tokens=["sunco-url-token-0123456789"])
    body = json.dumps(fixture("customer_message")).encode()
    with pytest.raises(SignatureInvalid):
        CHANNEL.accept(bot, {}, body, 300, {"token": "sunco-url-token-0123456789"})


def test_the_key_is_checked_before_the_body_is_read() -> None:
    with pytest.raises(SignatureInvalid):
        accept(b"{not json", {"X-API-Key": "wrong"})


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "A", "persona": "P"})
    with pytest.raises(ChannelNotConfigured) as raised:
        accept(fixture("customer_message"), bot=bot)
    assert raised.value.status_code == 404


# --- parsing -----------------------------------------------------------------------------
def test_a_user_text_message_is_a_customer_message() -> None:
    delivery = accept(fixture("customer_message"))
    (event,) = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert event.conversation_id == CONVERSATION
    assert event.event_id == "5f74c7d84a146f3abd72af1d"
    assert event.text == "How long does a refund take?"
    assert event.customer == Customer("cust_1001", "alex@example.com", "Steve Rogers", "en-US")
    assert event.data == {"source": "web"}
    assert not event.email
    assert delivery.delivery_id == "5f74a0d52b5315fc007e798a"
    assert delivery.ignored == []


def test_without_an_external_id_the_customer_is_the_sunco_user() -> None:
    data = fixture("customer_message")
    author = data["events"][0]["payload"]["message"]["author"]
    del author["user"]["externalId"]
    (event,) = accept(data).events
    assert event.customer is not None and event.customer.id == "26508c10541a4b0ff472e5e2"


def test_an_unauthenticated_users_email_is_not_trusted() -> None:
    delivery = accept(fixture("batch"))
    (event,) = delivery.events
    assert event.customer == Customer("26508c10541a4b0ff472e5e2", None, "Steve Rogers", None)


def test_a_batch_is_iterated_and_each_event_accounted_for() -> None:
    delivery = accept(fixture("batch"))
    assert [e.text for e in delivery.events] == ["Here is the receipt"]
    reasons = {item.event_id: item.reason for item in delivery.ignored}
    assert "conversation:read" in reasons["5f74a0d52b5315fc007e79b0"]
    assert "image" in reasons["5f74c7d84a146f3abd72af20"]


def test_a_business_message_is_ignored() -> None:
    delivery = accept(fixture("business_message"))
    assert delivery.events == []
    (ignored,) = delivery.ignored
    assert ignored.event_id == "5f74c7d84a146f3abd72af1e"
    assert "business" in ignored.reason


def test_an_agents_business_message_is_ignored_too() -> None:
    data = with_active(fixture("business_message"), AGENT_WORKSPACE)
    assert accept(data).events == []


@pytest.mark.parametrize("text", ["", "   "])
def test_an_empty_text_is_ignored(text: str) -> None:
    data = fixture("customer_message")
    data["events"][0]["payload"]["message"]["content"]["text"] = text
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


# --- the switchboard ---------------------------------------------------------------------
def test_a_message_in_a_conversation_another_integration_owns_is_recorded_not_answered() -> None:
    delivery = accept(with_active(fixture("customer_message"), AGENT_WORKSPACE))
    owner, message = delivery.events
    assert owner.kind is EventKind.MANUAL and owner.cause == ASSIGNMENT
    assert owner.event_id == "5f74c7d84a146f3abd72af1d.owner"
    assert "zd-agentWorkspace" in owner.reason
    assert message.kind is EventKind.CUSTOMER


@pytest.mark.parametrize("field", ["integrationId", "id"])
def test_the_bot_is_recognised_by_integration_or_switchboard_id(field: str) -> None:
    active = {"id": "sbi-x", "integrationId": "int-x", field: "mine"}
    bot = make_bot(integration_id="mine")
    delivery = accept(with_active(fixture("customer_message"), active), bot=bot)
    assert [e.kind for e in delivery.events] == [EventKind.CUSTOMER]


def test_without_the_switchboard_every_message_is_the_bots() -> None:
    delivery = accept(with_active(fixture("customer_message"), None))
    assert [e.kind for e in delivery.events] == [EventKind.CUSTOMER]


def test_without_an_integration_id_the_switchboard_is_not_followed() -> None:
    bot = make_bot(integration_id=None)
    delivery = accept(with_active(fixture("customer_message"), AGENT_WORKSPACE), bot=bot)
    assert [e.kind for e in delivery.events] == [EventKind.CUSTOMER]
    control = accept(fixture("pass_control_to_agents"), bot=bot)
    assert control.events == [] and "integration_id" in control.ignored[0].reason


def test_control_passed_to_the_agents_is_manual() -> None:
    (event,) = accept(fixture("pass_control_to_agents")).events
    assert event.kind is EventKind.MANUAL and event.cause == ASSIGNMENT
    assert event.conversation_id == CONVERSATION
    assert event.event_id == "5f74a0d52b5315fc007e79a0"
    assert "zd-agentWorkspace" in event.reason


def test_control_passed_back_to_the_bot_is_auto() -> None:
    (event,) = accept(fixture("pass_control_to_bot")).events
    assert event.kind is EventKind.AUTO


def test_accept_control_counts_like_pass_control() -> None:
    data = fixture("pass_control_to_agents")
    data["events"][0]["type"] = "switchboard:acceptControl"
    (event,) = accept(data).events
    assert event.kind is EventKind.MANUAL


def test_a_switchboard_event_without_an_active_integration_is_ignored() -> None:
    delivery = accept(with_active(fixture("pass_control_to_agents"), None))
    assert delivery.events == [] and len(delivery.ignored) == 1


# --- dedupe ------------------------------------------------------------------------------
def test_dedupe_ids_are_stable_across_retries() -> None:
    first, again = accept(fixture("batch")), accept(fixture("batch"))
    assert first.delivery_id == again.delivery_id
    assert first.delivery_id.startswith("batch-")
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]


def test_another_batch_has_another_id() -> None:
    data = fixture("batch")
    data["events"][0]["id"] = "5f74a0d52b5315fc007e79ff"
    assert accept(data).delivery_id != accept(fixture("batch")).delivery_id


# --- wrong input -------------------------------------------------------------------------
def test_an_unknown_event_type_is_acknowledged_and_ignored() -> None:
    data = fixture("pass_control_to_agents")
    data["events"][0]["type"] = "conversation:typing"
    delivery = accept(data)
    assert delivery.events == []
    assert delivery.ignored[0].event_id == "5f74a0d52b5315fc007e79a0"


def test_no_events_is_an_empty_delivery() -> None:
    delivery = accept({"app": {"id": "a"}, "events": []})
    assert delivery.events == [] and delivery.ignored == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("events"),
        lambda d: d.update(events={"id": "x"}),
        lambda d: d["events"][0].pop("id"),
        lambda d: d["events"][0]["payload"].pop("message"),
        lambda d: d["events"][0]["payload"]["message"].pop("author"),
        lambda d: d["events"][0]["payload"]["message"]["content"].update(type=3),
        lambda d: d["events"][0]["payload"]["conversation"].update(id=""),
    ],
)
def test_a_known_event_of_the_wrong_shape_is_422(mutate: Any) -> None:
    data = fixture("customer_message")
    mutate(data)
    with pytest.raises(PayloadInvalid) as raised:
        accept(data)
    assert raised.value.status_code == 422


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"", b"[1, 2"])
def test_invalid_json_is_400(body: bytes) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(body)
    assert raised.value.status_code == 400


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_422(data: Any) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(data)
    assert raised.value.status_code == 422


# --- robustness --------------------------------------------------------------------------
def _accepts_or_refuses(body: bytes) -> Delivery | ChannelError:
    return delivery_or_refusal(lambda: CHANNEL.accept(BOT, sign(API_KEY, body), body, 300, {}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_a_delivery_or_a_channel_error(body: bytes) -> None:
    assert isinstance(_accepts_or_refuses(body), Delivery | ChannelError)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        ["customer_message", "business_message", "pass_control_to_agents", "batch"]
    ).flatmap(lambda name: mutated(fixture(name)))
)
def test_any_mutation_of_a_fixture_is_a_delivery_or_a_channel_error(data: Any) -> None:
    assert isinstance(_accepts_or_refuses(json.dumps(data).encode()), Delivery | ChannelError)
