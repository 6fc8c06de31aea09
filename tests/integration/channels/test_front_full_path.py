"""The Front channel end to end: a real deskhand whose helpdesk is the fake Front over
HTTP; signed application-webhook deliveries; the sync challenge through the real route;
the answer arrives as a message in the conversation (or a comment in draft mode); a
teammate's reply silences the bot."""

import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Running, StartDeskhand
from tests.support.fake_helpdesks.front import BOT, INBOXES, FakeFront
from tests.support.full_path import REFUND_ANSWER, post, transcript, wait_for

pytestmark = pytest.mark.slow
FIXTURES = "tests/fixtures/channels/front"
KEY = "front-signing-key-new"
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeFront]:
    # Fresh ids: the runtime's dedupe store outlives one test (session data dir).
    fake = FakeFront(_ids=itertools.count(random.randrange(10**6, 10**9)))
    fake.start()
    yield fake
    fake.stop()


def bot(fake: FakeFront, reply_mode: str = "autonomous") -> Json:
    return {
        "helpdesk": {
            "platform": "front",
            "api_token": fake.token,
            "teammate_id": BOT,
            "base_url": fake.url,
            "inbox_id": "inb_support",
            "inbox_address": INBOXES["inb_support"],
            "timeout_s": 5,
        },
        "channels": {"reply_mode": reply_mode, "front": {"signing_keys": [KEY]}},
    }


def delivery(name: str, conv: Json) -> bytes:
    """The fixture about ``conv``, with an event id and message id of its own."""
    with open(f"{FIXTURES}/{name}.json") as file:
        data = json.load(file)
    payload = data["payload"]
    payload["id"] = f"evt_{uuid.uuid4().hex[:10]}"
    payload["conversation"]["id"] = conv["id"]
    target = payload.get("target") or {}
    if (target.get("_meta") or {}).get("type") == "message":
        target["data"]["id"] = f"msg_{uuid.uuid4().hex[:10]}"
    return json.dumps(data).encode()


def send(deskhand: Running, name: str, conv: Json) -> Json:
    answer = post(deskhand, "front", KEY, delivery(name, conv))
    assert answer.status_code == 200, answer.text
    result: Json = answer.json()
    return result


def written(fake: FakeFront, conv: Json, kind: str) -> list[str]:
    calls = fake.calls("POST", f"/conversations/{conv['id']}/{kind}")
    return [str(call.body["body"]) for call in calls]


def test_the_sync_challenge_is_echoed_and_nothing_is_queued(
    start_deskhand: StartDeskhand, fake: FakeFront
) -> None:
    with open(f"{FIXTURES}/sync.json", "rb") as file:
        body = file.read()
    with start_deskhand(bot=bot(fake)) as deskhand:
        answer = post(deskhand, "front", KEY, body, challenge="ch-7f3a9b")
        forged = post(deskhand, "front", "another-key", body, challenge="ch-7f3a9b")
    assert (answer.status_code, answer.json()) == (200, {"challenge": "ch-7f3a9b"})
    assert forged.status_code == 401
    assert fake.requests == []


def test_an_inbound_message_is_answered_in_the_conversation(
    start_deskhand: StartDeskhand, fake: FakeFront
) -> None:
    conv = fake.add_conversation("ada@example.com", "Refund question")
    body = delivery("inbound_received", conv)
    with start_deskhand(bot=bot(fake)) as deskhand:
        queued = post(deskhand, "front", KEY, body).json()
        (reply,) = wait_for(lambda: written(fake, conv, "messages"))
        again = post(deskhand, "front", KEY, body).json()  # Front's retry
    assert queued["status"] == "queued" and again["status"] == "duplicate"
    assert REFUND_ANSWER in reply
    (call,) = fake.calls("POST", f"/conversations/{conv['id']}/messages")
    assert call.body["author_id"] == BOT


def test_the_bots_own_message_is_ignored_and_a_teammates_reply_silences_the_bot(
    start_deskhand: StartDeskhand, fake: FakeFront
) -> None:
    conv = fake.add_conversation("ada@example.com", "Refund question")
    with start_deskhand(bot=bot(fake)) as deskhand:
        own = send(deskhand, "outbound_sent_bot", conv)
        comment = send(deskhand, "new_comment_added", conv)
        agent = send(deskhand, "outbound_sent_agent", conv)
        key = f"demo:front:{conv['id']}"
        wait_for(lambda: (transcript(deskhand, key) or {}).get("mode") == "manual")
        send(deskhand, "inbound_received", conv)
        time.sleep(3)  # a worker would have answered by now
    assert (own["status"], comment["status"], agent["status"]) == ("ignored", "ignored", "queued")
    assert written(fake, conv, "messages") == []


def test_in_draft_mode_the_answer_is_a_comment(
    start_deskhand: StartDeskhand, fake: FakeFront
) -> None:
    conv = fake.add_conversation("ada@example.com", "Refund question")
    with start_deskhand(bot=bot(fake, reply_mode="draft")) as deskhand:
        send(deskhand, "inbound_received", conv)
        (comment,) = wait_for(lambda: written(fake, conv, "comments"))
    assert REFUND_ANSWER in comment and comment.startswith("Suggested reply")
    assert written(fake, conv, "messages") == []
