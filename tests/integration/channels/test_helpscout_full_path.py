"""The Help Scout channel end to end: a real deskhand whose helpdesk is the fake Help Scout
over HTTP (OAuth client credentials included); signed deliveries; the answer arrives as a
reply thread (or as a note in draft mode); an agent's reply silences the bot."""

import itertools
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Running, StartDeskhand
from tests.support.fake_helpdesks.helpscout import MAILBOXES, USERS, FakeHelpScout
from tests.support.full_path import REFUND_ANSWER, post, transcript, wait_for

pytestmark = pytest.mark.slow
FIXTURES = "tests/fixtures/channels/helpscout"
SECRET = "hs-webhook-secret-0001"
BOT_USER = USERS[0]
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeHelpScout]:
    # Fresh ids: the runtime's dedupe store outlives one test (session data dir).
    fake = FakeHelpScout(_ids=itertools.count(random.randrange(10**6, 10**9)))
    fake.start()
    yield fake
    fake.stop()


def bot(fake: FakeHelpScout, reply_mode: str = "autonomous") -> Json:
    return {
        "helpdesk": {
            "platform": "helpscout",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "mailbox_id": str(MAILBOXES[0]),
            "base_url": fake.url,
            "user_id": str(BOT_USER),
            "timeout_s": 5,
        },
        "channels": {"reply_mode": reply_mode, "helpscout": {"secrets": [SECRET]}},
    }


def a_conversation(fake: FakeHelpScout) -> Json:
    return fake.add_conversation(fake.add_customer("ada@example.com", "Ada"), "Refund question")


def delivery(name: str, conv: Json) -> bytes:
    """The fixture about ``conv``: its id, its customer, thread ids of its own."""
    with open(f"{FIXTURES}/{name}.json") as file:
        data = json.load(file)
    data["id"] = conv["id"]
    data["primaryCustomer"]["id"] = conv["primaryCustomer"]["id"]
    for thread in data["_embedded"]["threads"]:
        thread["id"] += conv["id"] * 100
    return json.dumps(data).encode()


def send(deskhand: Running, name: str, conv: Json, event: str) -> Json:
    answer = post(deskhand, "helpscout", SECRET, delivery(name, conv), event=event)
    assert answer.status_code == 200, answer.text
    result: Json = answer.json()
    return result


def written(fake: FakeHelpScout, conv: Json, kind: str) -> list[str]:
    calls = fake.calls("POST", f"/v2/conversations/{conv['id']}/{kind}")
    return [str(call.body["text"]) for call in calls]


def test_a_customer_reply_is_answered_in_the_conversation(
    start_deskhand: StartDeskhand, fake: FakeHelpScout
) -> None:
    conv = a_conversation(fake)
    with start_deskhand(bot=bot(fake)) as deskhand:
        queued = send(deskhand, "customer_reply", conv, "convo.customer.reply.created")
        (reply,) = wait_for(lambda: written(fake, conv, "reply"))
        again = send(deskhand, "customer_reply", conv, "convo.customer.reply.created")
    assert queued["status"] == "queued" and again["status"] == "duplicate"
    assert REFUND_ANSWER in reply
    (call,) = fake.calls("POST", f"/v2/conversations/{conv['id']}/reply")
    assert call.body["customer"] == {"id": conv["primaryCustomer"]["id"]}
    assert call.body["user"] == BOT_USER


def test_the_bots_own_reply_is_ignored_and_an_agents_reply_silences_the_bot(
    start_deskhand: StartDeskhand, fake: FakeHelpScout
) -> None:
    conv = a_conversation(fake)
    with start_deskhand(bot=bot(fake)) as deskhand:
        own = send(deskhand, "bot_reply", conv, "convo.agent.reply.created")
        note = send(deskhand, "note", conv, "convo.note.created")
        agent = send(deskhand, "agent_reply", conv, "convo.agent.reply.created")
        key = f"demo:helpscout:{conv['id']}"
        wait_for(lambda: (transcript(deskhand, key) or {}).get("mode") == "manual")
        send(deskhand, "customer_reply", conv, "convo.customer.reply.created")
        time.sleep(3)  # a worker would have answered by now
    assert (own["status"], note["status"], agent["status"]) == ("ignored", "ignored", "queued")
    assert written(fake, conv, "reply") == []


def test_in_draft_mode_the_answer_is_a_note(
    start_deskhand: StartDeskhand, fake: FakeHelpScout
) -> None:
    conv = a_conversation(fake)
    with start_deskhand(bot=bot(fake, reply_mode="draft")) as deskhand:
        send(deskhand, "customer_reply", conv, "convo.customer.reply.created")
        (note,) = wait_for(lambda: written(fake, conv, "notes"))
    assert REFUND_ANSWER in note and note.startswith("Suggested reply")
    assert written(fake, conv, "reply") == []
