"""The Chatwoot channel: the signature (and the URL token for instances that do not sign),
the agent bot's events parsed into canonical events, the ignore rules, state sync, dedupe
ids, and robustness against any body."""

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
from agent.channels.chatwoot import ChatwootChannel
from agent.config.botfile import BotConfig
from tests.support.channel_fixtures import channel_fixture
from tests.support.json_fuzz import JSON_VALUES, delivery_or_refusal, mutated
from tests.support.signers import sign
from tools.context import Customer
from tools.ticketing.key_marker import with_marker

SECRET = "cw-bot-secret-new-5f2a"
OLD_SECRET = "cw-bot-secret-old-9c1d"
URL_TOKEN = "cw-url-token-0123456789ab"
CHANNEL = ChatwootChannel()
HELPDESK = {
    "platform": "chatwoot",
    "base_url": "https://chat.acme.example",
    "account_id": 3,
    "access_token": "cw-token",
}


def make_bot(**channel: Any) -> BotConfig:
    return BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "helpdesk": HELPDESK,
            "channels": {"chatwoot": channel or {"secrets": [SECRET, OLD_SECRET]}},
        }
    )


BOT = make_bot()


def fixture(name: str) -> dict[str, Any]:
    return channel_fixture("chatwoot", name)


def body_of(data: Any) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data).encode()


def accept(
    data: Any,
    headers: dict[str, str] | None = None,
    bot: BotConfig = BOT,
    query: dict[str, str] | None = None,
) -> Delivery:
    body = body_of(data)
    sent = sign("chatwoot", SECRET, body) if headers is None else headers
    return CHANNEL.accept(bot, sent, body, 300, query or {})


# --- verification ------------------------------------------------------------------------
def test_a_signed_delivery_passes() -> None:
    assert accept(fixture("message_created_customer")).events


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_either_secret_passes_during_a_rotation(secret: str) -> None:
    body = body_of(fixture("message_created_customer"))
    assert accept(body, sign("chatwoot", secret, body)).events


def test_a_wrong_secret_is_refused() -> None:
    body = body_of(fixture("message_created_customer"))
    with pytest.raises(SignatureInvalid, match="does not match"):
        accept(body, sign("chatwoot", "someone-else", body))


def test_a_tampered_body_is_refused() -> None:
    body = body_of(fixture("message_created_customer"))
    headers = sign("chatwoot", SECRET, body)
    with pytest.raises(SignatureInvalid):
        accept(body.replace(b"refund", b"rebate"), headers)


def test_an_unsigned_delivery_is_refused_without_url_tokens() -> None:
    with pytest.raises(SignatureInvalid, match="not signed") as raised:
        accept(fixture("message_created_customer"), {})
    assert raised.value.status_code == 401


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"X-Chatwoot-Signature": ""}, "signature header is missing"),
        ({"X-Chatwoot-Timestamp": ""}, "Timestamp header is missing"),
        ({"X-Chatwoot-Timestamp": "yesterday"}, "not a unix timestamp"),
        ({"X-Chatwoot-Timestamp": "\u00b2"}, "not a unix timestamp"),
        ({"X-Chatwoot-Signature": "md5=abc"}, "does not match"),
    ],
)
def test_malformed_signature_headers_are_refused(change: dict[str, str], problem: str) -> None:
    body = body_of(fixture("message_created_customer"))
    headers = {**sign("chatwoot", SECRET, body), **change}
    with pytest.raises(SignatureInvalid, match=problem):
        accept(body, headers)


def test_the_signature_without_its_prefix_is_refused() -> None:
    body = body_of(fixture("message_created_customer"))
    headers = sign("chatwoot", SECRET, body)
    headers["X-Chatwoot-Signature"] = headers["X-Chatwoot-Signature"].removeprefix("sha256=")
    with pytest.raises(SignatureInvalid):
        accept(body, headers)


@pytest.mark.parametrize(("offset", "problem"), [(-301, "old"), (301, "future")])
def test_a_stale_or_future_timestamp_is_refused(offset: int, problem: str) -> None:
    body = body_of(fixture("message_created_customer"))
    headers = sign("chatwoot", SECRET, body, timestamp=time.time() + offset)
    with pytest.raises(SignatureInvalid, match=problem):
        accept(body, headers)


def test_a_timestamp_inside_the_window_passes() -> None:
    body = body_of(fixture("message_created_customer"))
    assert accept(body, sign("chatwoot", SECRET, body, timestamp=time.time() - 250)).events


def test_an_unsigned_delivery_passes_with_a_url_token() -> None:
    bot = make_bot(secrets=[SECRET], url_tokens=[URL_TOKEN])
    delivery = accept(fixture("message_created_customer"), {}, bot, {"token": URL_TOKEN})
    assert delivery.events


@pytest.mark.parametrize("query", [{}, {"token": "cw-url-token-wrong-0000000"}])
def test_an_unsigned_delivery_without_the_url_token_is_refused(query: dict[str, str]) -> None:
    bot = make_bot(url_tokens=[URL_TOKEN])
    with pytest.raises(SignatureInvalid, match="URL token"):
        accept(fixture("message_created_customer"), {}, bot, query)


def test_a_url_token_does_not_excuse_a_bad_signature() -> None:
    bot = make_bot(secrets=[SECRET], url_tokens=[URL_TOKEN])
    body = body_of(fixture("message_created_customer"))
    with pytest.raises(SignatureInvalid):
        accept(body, sign("chatwoot", "someone-else", body), bot, {"token": URL_TOKEN})


def test_with_url_tokens_only_a_signed_delivery_still_needs_the_token() -> None:
    bot = make_bot(url_tokens=[URL_TOKEN])
    body = body_of(fixture("message_created_customer"))
    with pytest.raises(SignatureInvalid):
        accept(body, sign("chatwoot", SECRET, body), bot)
    assert accept(body, sign("chatwoot", SECRET, body), bot, {"token": URL_TOKEN}).events


def test_a_tenant_without_the_channel_is_404() -> None:
    bot = BotConfig.model_validate({"tenant": "acme", "company": "Acme", "persona": "You help."})
    with pytest.raises(ChannelNotConfigured) as raised:
        accept(fixture("message_created_customer"), bot=bot)
    assert raised.value.status_code == 404


# --- parsing -------------------------------------------------------------------------------
def test_a_customer_message_becomes_a_customer_event() -> None:
    delivery = accept(fixture("message_created_customer"))
    [event] = delivery.events
    assert event.kind is EventKind.CUSTOMER
    assert (event.conversation_id, event.event_id) == ("2", "118")
    assert event.text == "How long does a refund take?"
    assert event.customer == Customer("1", "ada@example.com", "Ada Lovelace")
    assert not event.email and not delivery.ignored


def test_an_email_message_is_marked_with_its_subject() -> None:
    [event] = accept(fixture("message_created_email")).events
    assert event.email and not event.auto_submitted
    assert event.subject == "Re: Refund for BL-10217"
    assert event.conversation_id == "9"


def test_chatwoots_auto_reply_flag_marks_the_message_automatic() -> None:
    data = fixture("message_created_email")
    data["content_attributes"]["email"]["auto_reply"] = True
    [event] = accept(data).events
    assert event.auto_submitted


def test_the_subject_falls_back_to_the_conversations_mail_subject() -> None:
    data = fixture("message_created_email")
    data["content_attributes"] = {}
    assert accept(data).events[0].subject == "Refund for BL-10217"


@pytest.mark.parametrize(
    ("status", "assignee", "cause"),
    [("open", None, STATUS), ("snoozed", None, STATUS), ("open", {"id": 7}, ASSIGNMENT)],
)
def test_a_customer_message_in_a_conversation_a_person_owns_is_recorded_not_answered(
    status: str, assignee: dict[str, Any] | None, cause: str
) -> None:
    data = fixture("message_created_customer")
    data["conversation"]["status"] = status
    data["conversation"]["meta"]["assignee"] = assignee
    owner, message = accept(data).events
    assert (owner.kind, owner.cause, owner.event_id) == (EventKind.MANUAL, cause, "118.owner")
    assert status in owner.reason
    assert message.kind is EventKind.CUSTOMER


def test_an_agents_public_reply_silences_the_bot() -> None:
    [event] = accept(fixture("message_created_agent_reply")).events
    assert (event.kind, event.cause, event.event_id) == (EventKind.MANUAL, AGENT_REPLY, "121")
    assert event.text.startswith("Hi Ada, Dana here")
    assert "Chatwoot" in event.reason


# --- ignore rules ----------------------------------------------------------------------------
def test_the_bots_own_message_is_ignored_not_manual() -> None:
    delivery = accept(fixture("message_created_bot_reply"))
    assert delivery.events == []
    assert [(i.event_id, i.reason) for i in delivery.ignored] == [("119", "the bot's own message")]


def test_a_message_carrying_deskhands_marker_is_the_bots_even_from_a_user() -> None:
    """deskhand posts with a user's access token: Chatwoot names that user as the sender."""
    data = fixture("message_created_agent_reply")
    data["content"] = with_marker("Refunds take 5–7 business days.", "turn-1:reply")
    delivery = accept(data)
    assert delivery.events == [] and delivery.ignored[0].reason == "the bot's own message"


def test_a_private_note_is_ignored() -> None:
    delivery = accept(fixture("message_created_private_note"))
    assert delivery.events == [] and delivery.ignored[0].reason == "a private note"


@pytest.mark.parametrize(
    ("message_type", "sender_type"),
    [("activity", None), ("template", "agent_bot"), ("outgoing", None), ("incoming", "user")],
)
def test_activity_template_automatic_and_non_contact_messages_are_ignored(
    message_type: str, sender_type: str | None
) -> None:
    data = fixture("message_created_customer")
    data["message_type"] = message_type
    data["sender"] = None if sender_type is None else {"id": 9, "type": sender_type}
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


def test_message_updated_never_makes_a_second_turn() -> None:
    data = {**fixture("message_created_customer"), "event": "message_updated"}
    delivery = accept(data)
    assert delivery.events == []
    assert "message_updated" in delivery.ignored[0].reason


@pytest.mark.parametrize(
    "event", ["webwidget_triggered", "conversation_resolved", "contact_created", "new_thing"]
)
def test_other_events_are_acknowledged_and_ignored(event: str) -> None:
    delivery = accept({"event": event, "id": 5, "event_info": {}})
    assert delivery.events == [] and len(delivery.ignored) == 1
    assert delivery.delivery_id


# --- state sync ----------------------------------------------------------------------------
def test_opening_the_conversation_to_an_agent_is_manual_assignment() -> None:
    [event] = accept(fixture("conversation_status_changed_open")).events
    assert (event.kind, event.cause, event.conversation_id) == (EventKind.MANUAL, ASSIGNMENT, "2")
    assert "Dana Agent" in event.reason


def test_resolving_without_an_assignee_is_manual_status() -> None:
    data = fixture("conversation_status_changed_open")
    data.update(status="resolved", meta={"assignee": None})
    [event] = accept(data).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)
    assert "resolved" in event.reason


def test_conversation_opened_is_manual() -> None:
    data = {**fixture("conversation_status_changed_open"), "event": "conversation_opened"}
    data["meta"] = {"assignee": None}
    [event] = accept(data).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, STATUS)


def test_back_to_pending_gives_the_conversation_back_to_the_bot() -> None:
    [event] = accept(fixture("conversation_status_changed_pending")).events
    assert event.kind is EventKind.AUTO and event.conversation_id == "2"


def test_an_update_assigning_a_team_is_manual_assignment() -> None:
    data = fixture("conversation_status_changed_pending")
    data.update(
        event="conversation_updated",
        meta={"assignee": None, "team": {"id": 4, "name": "billing"}},
        changed_attributes=[{"team_id": {"previous_value": None, "current_value": 4}}],
    )
    [event] = accept(data).events
    assert (event.kind, event.cause) == (EventKind.MANUAL, ASSIGNMENT)
    assert "team billing" in event.reason


def test_an_update_of_labels_only_is_ignored() -> None:
    data = fixture("conversation_status_changed_open")
    data.update(event="conversation_updated", changed_attributes=[{"label_list": {}}])
    delivery = accept(data)
    assert delivery.events == [] and len(delivery.ignored) == 1


def test_an_update_of_a_pending_unassigned_conversation_is_ignored() -> None:
    data = {**fixture("conversation_status_changed_pending"), "event": "conversation_updated"}
    del data["changed_attributes"]
    assert accept(data).events == []


def test_a_status_change_without_a_status_is_422() -> None:
    data = fixture("conversation_status_changed_open")
    del data["status"]
    with pytest.raises(PayloadInvalid) as raised:
        accept(data)
    assert raised.value.status_code == 422


# --- dedupe ids --------------------------------------------------------------------------------
def test_the_delivery_header_is_the_dedupe_id_across_retries() -> None:
    body = body_of(fixture("message_created_customer"))
    first = accept(body, sign("chatwoot", SECRET, body, delivery_id="d-1"))
    retry = accept(body, sign("chatwoot", SECRET, body, delivery_id="d-1"))
    assert first.delivery_id == retry.delivery_id == "d-1"
    assert first.events == retry.events


def test_without_the_delivery_header_the_event_and_message_id_are_the_dedupe_id() -> None:
    body = body_of(fixture("message_created_customer"))
    headers = sign("chatwoot", SECRET, body)
    del headers["X-Chatwoot-Delivery"]
    assert accept(body, headers).delivery_id == "message_created:118"


def test_conversation_events_without_the_header_have_a_stable_id() -> None:
    body = body_of(fixture("conversation_status_changed_open"))

    def once() -> Delivery:
        headers = sign("chatwoot", SECRET, body, timestamp=time.time())
        del headers["X-Chatwoot-Delivery"]
        return accept(body, headers)

    first, again = once(), once()
    assert first.delivery_id == again.delivery_id
    assert first.events[0].event_id == again.events[0].event_id


# --- wrong shapes ----------------------------------------------------------------------------
def test_invalid_json_is_400() -> None:
    with pytest.raises(PayloadInvalid) as raised:
        accept(b"{not json")
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"id": 1},
        {"event": 5},
        {"event": "message_created", "id": 1},
        {**fixture("message_created_customer"), "conversation": {"id": "two"}},
        {**fixture("message_created_customer"), "id": None},
    ],
)
def test_a_known_event_of_the_wrong_shape_is_422(data: Any) -> None:
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


FUZZED = [
    "message_created_customer",
    "message_created_email",
    "message_created_agent_reply",
    "conversation_status_changed_open",
]


@pytest.mark.parametrize("name", FUZZED)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_damaged_fixture_is_accepted_or_refused_cleanly(name: str, data: st.DataObject) -> None:
    assert isinstance(
        accepts_or_refuses(data.draw(mutated(fixture(name)))), Delivery | ChannelError
    )
