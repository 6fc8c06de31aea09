"""The Chatwoot channel end to end: a real deskhand whose helpdesk is the fake Chatwoot over
HTTP; signed agent-bot deliveries; the answer arrives as an outgoing message in the
conversation (a private note in draft mode); the bot's own message is ignored; an agent's
reply silences the bot; putting the conversation back to pending gives it back."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Running, StartDeskhand
from tests.support.fake_helpdesks.chatwoot import (
    ACCOUNT_ID,
    HANDOFF_TEAM_ID,
    INBOX_ID,
    TOKEN,
    FakeChatwoot,
)
from tests.support.full_path import REFUND_ANSWER, post, transcript, wait_for

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[2] / "fixtures" / "channels" / "chatwoot"
SECRET = "cw-bot-secret-0123456789"
CONVERSATION = 2  # the fixtures' conversation: the fake's first seeded one
MESSAGES = f"/api/v1/accounts/{ACCOUNT_ID}/conversations/{CONVERSATION}/messages"
KEY = f"demo:chatwoot:{CONVERSATION}"


@pytest.fixture
def fake() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot()
    fake.start()
    seeded = fake.seed_conversation("ada@example.com")
    assert seeded["id"] == CONVERSATION and seeded["status"] == "pending"
    yield fake
    fake.stop()


def bot(fake: FakeChatwoot, reply_mode: str = "autonomous") -> dict[str, Any]:
    """The demo bot with the fake Chatwoot as its helpdesk (a user's token: the client
    reads messages before it writes)."""
    return {
        "helpdesk": {
            "platform": "chatwoot",
            "base_url": fake.url,
            "account_id": ACCOUNT_ID,
            "access_token": TOKEN,
            "handoff_team_id": HANDOFF_TEAM_ID,
            "inbox_id": INBOX_ID,
            "timeout_s": 5,
        },
        "channels": {"reply_mode": reply_mode, "chatwoot": {"secrets": [SECRET]}},
    }


def delivery(name: str, **fields: Any) -> bytes:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(fields)
    return json.dumps(data).encode()


def deliver(deskhand: Running, name: str, **fields: Any) -> dict[str, Any]:
    answer = post(deskhand, "chatwoot", SECRET, delivery(name, **fields))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def written(fake: FakeChatwoot, private: bool = False) -> list[str]:
    calls = fake.calls("POST", MESSAGES)
    return [str(c.body["content"]) for c in calls if bool(c.body.get("private")) is private]


def mode(deskhand: Running) -> str | None:
    data = transcript(deskhand, KEY)
    return data["mode"] if data else None


def test_a_customer_message_is_answered_in_the_conversation(
    start_deskhand: StartDeskhand, fake: FakeChatwoot
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        body = delivery("message_created_customer")
        first = post(deskhand, "chatwoot", SECRET, body, delivery_id="dlv-1")
        (reply,) = wait_for(lambda: written(fake))
        retry = post(deskhand, "chatwoot", SECRET, body, delivery_id="dlv-1")
    assert first.json()["status"] == "queued"
    assert first.json()["conversations"] == [KEY]
    assert REFUND_ANSWER in reply
    assert retry.json()["status"] == "duplicate"
    (call,) = fake.calls("POST", MESSAGES)
    assert call.body["message_type"] == "outgoing" and call.body["private"] is False


def test_the_bots_own_message_and_a_private_note_cause_no_call(
    start_deskhand: StartDeskhand, fake: FakeChatwoot
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        own = deliver(deskhand, "message_created_bot_reply")
        note = deliver(deskhand, "message_created_private_note")
        time.sleep(1)
    assert (own["status"], note["status"]) == ("ignored", "ignored")
    assert own["ignored"] == [{"id": "119", "reason": "the bot's own message"}]
    assert fake.requests == []


def test_an_agents_reply_silences_the_bot_until_pending_again(
    start_deskhand: StartDeskhand, fake: FakeChatwoot
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        assert deliver(deskhand, "message_created_agent_reply")["status"] == "queued"
        wait_for(lambda: mode(deskhand) == "manual")
        deliver(deskhand, "message_created_customer")
        time.sleep(3)  # a worker would have answered by now
        silent = written(fake)
        deliver(deskhand, "conversation_status_changed_pending")
        wait_for(lambda: mode(deskhand) == "auto")
        deliver(deskhand, "message_created_customer", id=122)
        (reply,) = wait_for(lambda: written(fake))
    assert silent == []
    assert REFUND_ANSWER in reply


def test_a_customer_message_in_an_open_conversation_is_not_answered(
    start_deskhand: StartDeskhand, fake: FakeChatwoot
) -> None:
    data = json.loads((FIXTURES / "message_created_customer.json").read_text())
    data["conversation"]["status"] = "open"
    with start_deskhand(bot=bot(fake)) as deskhand:
        answer = post(deskhand, "chatwoot", SECRET, json.dumps(data).encode())
        wait_for(lambda: mode(deskhand) == "manual")
        time.sleep(2)
    assert answer.json()["status"] == "queued"
    assert written(fake) == []


def test_in_draft_mode_the_answer_is_a_private_note(
    start_deskhand: StartDeskhand, fake: FakeChatwoot
) -> None:
    with start_deskhand(bot=bot(fake, reply_mode="draft")) as deskhand:
        deliver(deskhand, "message_created_customer")
        (note,) = wait_for(lambda: written(fake, private=True))
    assert REFUND_ANSWER in note
    assert written(fake) == []


def test_a_wrong_signature_is_refused(start_deskhand: StartDeskhand, fake: FakeChatwoot) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        body = delivery("message_created_customer")
        answer = post(deskhand, "chatwoot", "cw-someone-else", body)
    assert answer.status_code == 401
    assert fake.requests == []
