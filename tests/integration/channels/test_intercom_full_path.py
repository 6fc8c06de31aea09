"""Intercom end to end: a real deskhand whose helpdesk is the fake Intercom, signed
(X-Hub-Signature) notifications in, the bot's replies and notes out as conversation parts."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import DEMO_TOKEN, Running, StartDeskhand
from tests.support.fake_helpdesks.intercom import ADMIN_ID, AGENT_ID, FakeIntercom
from tests.support.signers import intercom as sign

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[2] / "fixtures" / "channels" / "intercom"
SECRET = "ic-client-secret-0123456789"
REFUND_WORDS = "5–7 business days"
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    fake = FakeIntercom()
    fake.start()
    yield fake
    fake.stop()


def bot_file(fake: FakeIntercom, reply_mode: str = "autonomous") -> Json:
    helpdesk = {
        "platform": "intercom",
        "access_token": fake.token,
        "admin_id": ADMIN_ID,
        "base_url": fake.url,
        "timeout_s": 2,
    }
    channels = {"reply_mode": reply_mode, "intercom": {"client_secrets": [SECRET]}}
    return {"helpdesk": helpdesk, "channels": channels}


def new_conversation(fake: FakeIntercom) -> Json:
    """A conversation under an id no other test used (the runtime's state outlives a test,
    and every fake numbers its conversations from the same start)."""
    contact = fake.add_contact(f"alex-{uuid.uuid4().hex[:8]}@example.com", name="Alex")
    conv = fake.add_conversation(contact, "<p>How long does a refund take?</p>")
    old, conv["id"] = conv["id"], str(uuid.uuid4().int % 10**12)
    fake.conversations[conv["id"]] = fake.conversations.pop(old)
    return conv


def notification(name: str, conv: Json, **item: Any) -> Json:
    """A fixture about the fake's ``conv``, under a fresh notification id."""
    data: Json = json.loads((FIXTURES / f"{name}.json").read_text())
    data["id"] = f"notif_{uuid.uuid4()}"
    target = data["data"]["item"]
    target.update(id=conv["id"], **item)
    if name == "user_created":
        target["source"].update(id=conv["source"]["id"])
        target["source"]["author"]["id"] = conv["source"]["author"]["id"]
    for part in target.get("conversation_parts", {}).get("conversation_parts", []):
        part["id"] = f"{part['id']}{uuid.uuid4().hex[:6]}"
    return data


def post(deskhand: Running, data: Json) -> httpx.Response:
    body = json.dumps(data).encode()
    headers = {"content-type": "application/json", **sign(SECRET, body)}
    return deskhand.http.post("/webhooks/demo/intercom", content=body, headers=headers)


def wait_for(found: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found():
            return
        time.sleep(0.2)
    raise AssertionError("not within the time allowed")


def transcript(deskhand: Running, conv: Json) -> Json:
    key = f"demo:intercom:{conv['id']}"
    headers = {"authorization": f"Bearer {DEMO_TOKEN}"}
    response = deskhand.http.get(f"/v1/conversations/{key}", headers=headers)
    return response.json() if response.status_code == 200 else {"entries": [], "mode": "auto"}


def bot_parts(fake: FakeIntercom, conv: Json, part_type: str) -> list[str]:
    return [
        str(p["body"])
        for p in fake.parts_of(conv["id"])
        if p["part_type"] == part_type and p["author"]["id"] == ADMIN_ID
    ]


def test_a_customer_message_is_answered_as_a_public_reply(
    start_deskhand: StartDeskhand, fake: FakeIntercom
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        answer = post(deskhand, notification("user_created", conv))
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
        wait_for(lambda: any(REFUND_WORDS in b for b in bot_parts(fake, conv, "comment")))
    assert bot_parts(fake, conv, "note") == []


def test_a_ping_and_the_bots_own_reply_cause_no_call(
    start_deskhand: StartDeskhand, fake: FakeIntercom
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        for name in ("ping", "admin_replied_bot"):
            answer = post(deskhand, notification(name, conv) if name != "ping" else _ping())
            assert answer.status_code == 200 and answer.json()["status"] == "ignored"
        time.sleep(1.0)
    assert fake.requests == []


def _ping() -> Json:
    data: Json = json.loads((FIXTURES / "ping.json").read_text())
    data["id"] = f"notif_{uuid.uuid4()}"
    return data


def test_after_an_agent_replied_the_bot_stays_silent(
    start_deskhand: StartDeskhand, fake: FakeIntercom
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        agent = notification("admin_replied_agent", conv, admin_assignee_id=None)
        assert post(deskhand, agent).json()["status"] == "queued"
        wait_for(lambda: transcript(deskhand, conv)["mode"] == "manual")
        customer = notification("user_replied", conv)
        part_id = customer["data"]["item"]["conversation_parts"]["conversation_parts"][0]["id"]
        assert post(deskhand, customer).json()["status"] == "queued"
        wait_for(
            lambda: any(e["message_id"] == part_id for e in transcript(deskhand, conv)["entries"])
        )
        time.sleep(1.0)
    assert bot_parts(fake, conv, "comment") == []


def test_draft_mode_posts_the_reply_as_an_internal_note(
    start_deskhand: StartDeskhand, fake: FakeIntercom
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake, reply_mode="draft")) as deskhand:
        post(deskhand, notification("user_created", conv))
        wait_for(lambda: any(REFUND_WORDS in b for b in bot_parts(fake, conv, "note")))
    assert bot_parts(fake, conv, "comment") == []


def test_a_message_in_a_conversation_an_agent_owns_is_not_answered(
    start_deskhand: StartDeskhand, fake: FakeIntercom
) -> None:
    conv = new_conversation(fake)
    with start_deskhand(bot=bot_file(fake)) as deskhand:
        post(deskhand, notification("user_created", conv, admin_assignee_id=int(AGENT_ID)))
        wait_for(lambda: transcript(deskhand, conv)["mode"] == "manual")
        time.sleep(1.0)
    assert bot_parts(fake, conv, "comment") == []
