"""Zendesk messaging end to end: a real deskhand, the fake Sunshine Conversations, signed
(X-API-Key) webhooks in, the bot's messages and hand-offs out through the REST v2 API."""

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import DEMO_TOKEN, Running, StartDeskhand
from tests.support.fake_helpdesks.sunshine import AGENTS, BOT, KEY_ID, KEY_SECRET, FakeSunshine
from tests.support.signers import sunshine as sign

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[2] / "fixtures" / "channels" / "sunshine"
API_KEY = "sunco-webhook-secret-0123456789"
REFUND_WORDS = "5–7 business days"


@pytest.fixture
def fake() -> Iterator[FakeSunshine]:
    fake = FakeSunshine()
    fake.start()
    yield fake
    fake.stop()


def new_conversation(fake: FakeSunshine) -> str:
    """A conversation id no other test used (the runtime's dedupe store outlives a test)."""
    return str(fake.add_conversation(uuid.uuid4().hex[:24])["id"])


def bot_file(fake: FakeSunshine, reply_mode: str = "autonomous") -> dict[str, Any]:
    sunshine = {
        "api_keys": [API_KEY],
        "app_id": fake.app_id,
        "key_id": KEY_ID,
        "key_secret": KEY_SECRET,
        "base_url": fake.url,
        "integration_id": BOT["integrationId"],
        "timeout_s": 2,
    }
    return {"channels": {"reply_mode": reply_mode, "sunshine": sunshine}}


def delivery(name: str, conversation_id: str, **changes: Any) -> dict[str, Any]:
    """A fixture retargeted at ``conversation_id``; ``event_id``/``message_id`` renamed."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    event = data["events"][0]
    event["payload"]["conversation"]["id"] = conversation_id
    event["id"] = changes.get("event_id", f"{event['id']}-{conversation_id}")
    if "message" in event["payload"]:
        message = event["payload"]["message"]
        message["id"] = changes.get("message_id", f"{message['id']}-{conversation_id}")
        if "text" in changes:
            message["content"]["text"] = changes["text"]
    if "active" in changes:
        event["payload"]["conversation"]["activeSwitchboardIntegration"] = copy.deepcopy(
            changes["active"]
        )
    return data


def post(deskhand: Running, data: dict[str, Any]) -> httpx.Response:
    body = json.dumps(data).encode()
    headers = {"content-type": "application/json", **sign(API_KEY, body)}
    return deskhand.http.post("/webhooks/demo/sunshine", content=body, headers=headers)


def wait_for(found: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found():
            return
        time.sleep(0.2)
    raise AssertionError("not within the time allowed")


def transcript(deskhand: Running, conversation_id: str) -> dict[str, Any]:
    key = f"demo:sunshine:{conversation_id}"
    headers = {"authorization": f"Bearer {DEMO_TOKEN}"}
    response = deskhand.http.get(f"/v1/conversations/{key}", headers=headers)
    return response.json() if response.status_code == 200 else {"entries": [], "mode": "auto"}


def bot_entries(deskhand: Running, conversation_id: str) -> list[dict[str, Any]]:
    return [e for e in transcript(deskhand, conversation_id)["entries"] if e["author"] == "bot"]


def test_a_customer_message_is_answered_in_the_conversation(
    start_deskhand: StartDeskhand, fake: FakeSunshine
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        answer = post(deskhand, delivery("customer_message", conv))
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
        wait_for(lambda: any(REFUND_WORDS in t for t in fake.business_texts(conv)))
    (message,) = fake.messages[conv]
    assert message["author"] == {"type": "business", "subtypes": ["AI"]}
    assert message["metadata"]["deskhand_key"]


def test_the_bots_own_message_causes_no_call(
    start_deskhand: StartDeskhand, fake: FakeSunshine
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        answer = post(deskhand, delivery("business_message", conv))
        assert answer.status_code == 200 and answer.json()["status"] == "ignored"
        time.sleep(1.0)
    assert fake.requests == []


def test_after_control_passed_to_the_agents_the_bot_stays_silent(
    start_deskhand: StartDeskhand, fake: FakeSunshine
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        assert post(deskhand, delivery("pass_control_to_agents", conv)).status_code == 200
        wait_for(lambda: transcript(deskhand, conv)["mode"] == "manual")
        message = delivery("customer_message", conv, active=AGENTS, message_id=f"late-{conv}")
        assert post(deskhand, message).json()["status"] == "queued"
        wait_for(lambda: any(e["message_id"] == f"late-{conv}" for e in entries(deskhand, conv)))
        time.sleep(1.0)
        assert bot_entries(deskhand, conv) == []
    assert fake.messages[conv] == []


def entries(deskhand: Running, conversation_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = transcript(deskhand, conversation_id)["entries"]
    return found


def test_draft_mode_sends_nothing_to_the_customer(
    start_deskhand: StartDeskhand, fake: FakeSunshine
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake, reply_mode="draft")) as deskhand:
        post(deskhand, delivery("customer_message", conv))
        wait_for(lambda: any(REFUND_WORDS in e["text"] for e in bot_entries(deskhand, conv)))
        time.sleep(1.0)
    assert fake.messages[conv] == []


def test_a_request_for_a_person_passes_control_to_the_agents(
    start_deskhand: StartDeskhand, fake: FakeSunshine
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        post(deskhand, delivery("customer_message", conv, text="I want to talk to a human"))
        wait_for(lambda: bool(fake.calls("POST", fake.path(conv, "/passControl"))))
    (call,) = fake.calls("POST", fake.path(conv, "/passControl"))
    assert call.body["switchboardIntegration"] == "next"
    assert call.body["metadata"]["reason"] and call.body["metadata"]["deskhand_key"]
    assert fake.conversations[conv]["activeSwitchboardIntegration"] == AGENTS
    assert fake.business_texts(conv)  # the holding message went first
