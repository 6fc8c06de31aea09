"""The Zendesk channel end to end: a real deskhand whose helpdesk is the fake Zendesk over
HTTP; signed event-subscription deliveries; the answer arrives as a public comment on the
ticket (a private one in draft mode), authored by the bot's agent; the bot's own comment is
ignored; an agent's public reply silences the bot."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Running, StartDeskhand
from tests.support.fake_helpdesks.zendesk import BOT_AGENT_ID, ESCALATIONS_GROUP_ID, FakeZendesk
from tests.support.full_path import REFUND_ANSWER, REFUND_QUESTION, post, transcript, wait_for

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parents[2] / "fixtures" / "channels" / "zendesk"
SECRET = "zd-signing-secret-0123456789"
TICKET = 35438  # the fixtures' ticket: the fake's first, requested by a new user (35437)
KEY = f"demo:zendesk:{TICKET}"


@pytest.fixture
def fake() -> Iterator[FakeZendesk]:
    fake = FakeZendesk()
    fake.start()
    ticket = {
        "subject": "Refund question",
        "comment": {"body": REFUND_QUESTION},
        "requester": {"email": "ada@example.com", "name": "Ada Lovelace"},
    }
    headers = {"authorization": fake.authorization()}
    created = httpx.post(
        f"{fake.url}/api/v2/tickets.json", json={"ticket": ticket}, headers=headers
    )
    assert created.json()["ticket"]["id"] == TICKET, created.text
    fake.requests.clear()
    yield fake
    fake.stop()


def bot(fake: FakeZendesk, reply_mode: str = "autonomous") -> dict[str, Any]:
    return {
        "helpdesk": {
            "platform": "zendesk",
            "base_url": fake.url,
            "email": fake.email,
            "api_token": fake.api_token,
            "bot_agent_id": str(BOT_AGENT_ID),
            "handoff_group_id": str(ESCALATIONS_GROUP_ID),
            "timeout_s": 5,
        },
        "channels": {"reply_mode": reply_mode, "zendesk": {"signing_secrets": [SECRET]}},
    }


def delivery(name: str, comment_id: str | None = None) -> bytes:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    if comment_id is not None:
        data["event"]["comment"]["id"] = comment_id
        data["id"] = f"evt-{comment_id}"
    return json.dumps(data).encode()


def deliver(deskhand: Running, name: str, comment_id: str | None = None) -> dict[str, Any]:
    answer = post(deskhand, "zendesk", SECRET, delivery(name, comment_id))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def comments(fake: FakeZendesk, public: bool = True) -> list[dict[str, Any]]:
    """The comments deskhand put on the ticket (``public`` ones, or private notes)."""
    calls = fake.calls("PUT", fake.ticket_path(TICKET))
    found = [call.body["ticket"].get("comment") for call in calls]
    return [c for c in found if c is not None and c.get("public", True) is public]


def mode(deskhand: Running) -> str | None:
    data = transcript(deskhand, KEY)
    return data["mode"] if data else None


def test_a_customer_comment_is_answered_on_the_ticket(
    start_deskhand: StartDeskhand, fake: FakeZendesk
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        body = delivery("comment_added_customer")
        first = post(deskhand, "zendesk", SECRET, body, delivery_id="inv-1")
        (reply,) = wait_for(lambda: comments(fake))
        retry = post(deskhand, "zendesk", SECRET, body, delivery_id="inv-1")
    assert first.json()["status"] == "queued"
    assert first.json()["conversations"] == [KEY]
    assert REFUND_ANSWER in reply["body"]
    assert reply["author_id"] == BOT_AGENT_ID
    assert retry.json()["status"] == "duplicate"


def test_the_bots_own_comment_and_a_private_note_cause_no_call(
    start_deskhand: StartDeskhand, fake: FakeZendesk
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        own = deliver(deskhand, "comment_added_bot_reply")
        note = deliver(deskhand, "comment_added_private_note")
        time.sleep(1)
    assert (own["status"], note["status"]) == ("ignored", "ignored")
    assert own["ignored"] == [{"id": "35501", "reason": "the bot's own comment"}]
    assert fake.requests == []


def test_an_agents_reply_silences_the_bot(start_deskhand: StartDeskhand, fake: FakeZendesk) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        assert deliver(deskhand, "comment_added_agent_reply")["status"] == "queued"
        wait_for(lambda: mode(deskhand) == "manual")
        deliver(deskhand, "comment_added_customer", comment_id="35512")
        time.sleep(3)  # a worker would have answered by now
        recorded = transcript(deskhand, KEY) or {}
    assert comments(fake) == []
    assert [e["message_id"] for e in recorded["entries"] if e["author"] == "customer"] == ["35512"]


def test_an_assignment_to_a_person_silences_the_bot(
    start_deskhand: StartDeskhand, fake: FakeZendesk
) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        deliver(deskhand, "agent_assignment_changed")
        wait_for(lambda: mode(deskhand) == "manual")
        deliver(deskhand, "comment_added_customer")
        time.sleep(3)
    assert comments(fake) == []


def test_in_draft_mode_the_answer_is_a_private_comment(
    start_deskhand: StartDeskhand, fake: FakeZendesk
) -> None:
    with start_deskhand(bot=bot(fake, reply_mode="draft")) as deskhand:
        deliver(deskhand, "comment_added_customer")
        (note,) = wait_for(lambda: comments(fake, public=False))
    assert REFUND_ANSWER in note["body"]
    assert comments(fake) == []


def test_a_wrong_signature_is_refused(start_deskhand: StartDeskhand, fake: FakeZendesk) -> None:
    with start_deskhand(bot=bot(fake)) as deskhand:
        answer = post(deskhand, "zendesk", "zd-someone-else", delivery("comment_added_customer"))
    assert answer.status_code == 401
    assert fake.requests == []
