"""The Freshdesk channel end to end: a real deskhand whose helpdesk is the fake Freshdesk
over HTTP; deliveries authenticated by the rule's token; the answer arrives as a reply on
the ticket (or as a private note in draft mode); an agent's reply silences the bot."""

import html
import itertools
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Running, StartDeskhand
from tests.support.fake_helpdesks.freshdesk import API_KEY, HUMAN_GROUP_ID, FakeFreshdesk
from tests.support.full_path import REFUND_ANSWER, REFUND_QUESTION, post, transcript, wait_for

pytestmark = pytest.mark.slow
FIXTURES = "tests/fixtures/channels/freshdesk"
TOKEN = "fd-token-0123456789abcdef"


@pytest.fixture
def fake() -> Iterator[FakeFreshdesk]:
    # Fresh ticket numbers: the runtime's dedupe store outlives one test (session data dir).
    fake = FakeFreshdesk(_ids=itertools.count(random.randrange(10**6, 10**9)))
    fake.start()
    yield fake
    fake.stop()


def bot(fake: FakeFreshdesk, reply_mode: str = "autonomous") -> dict[str, Any]:
    return {
        "helpdesk": {
            "platform": "freshdesk",
            "base_url": fake.url,
            "api_key": API_KEY,
            "human_group_id": HUMAN_GROUP_ID,
            "timeout_s": 5,
        },
        "channels": {"reply_mode": reply_mode, "freshdesk": {"tokens": [TOKEN]}},
    }


def delivery(name: str, ticket: dict[str, Any], **fields: Any) -> bytes:
    with open(f"{FIXTURES}/{name}.json") as file:
        data = json.load(file)
    data.update(ticket_id=str(ticket["id"]), requester_id=str(ticket["requester_id"]), **fields)
    return json.dumps(data).encode()


def customer_writes(deskhand: Running, ticket: dict[str, Any], text: str) -> dict[str, Any]:
    comment = f"<div>{html.escape(text)}</div>"
    body = delivery("customer_reply", ticket, latest_public_comment=comment)
    answer = post(deskhand, "freshdesk", TOKEN, body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def written(fake: FakeFreshdesk, ticket: dict[str, Any], kind: str) -> list[str]:
    calls = fake.calls("POST", f"/api/v2/tickets/{ticket['id']}/{kind}")
    return [html.unescape(str(call.body["body"])) for call in calls]


def test_a_customer_reply_is_answered_on_the_ticket(
    start_deskhand: StartDeskhand, fake: FakeFreshdesk
) -> None:
    ticket = fake.seed_ticket("Refund question", "ada@example.com")
    with start_deskhand(bot=bot(fake)) as deskhand:
        assert customer_writes(deskhand, ticket, REFUND_QUESTION)["status"] == "queued"
        (reply,) = wait_for(lambda: written(fake, ticket, "reply"))
        again = customer_writes(deskhand, ticket, REFUND_QUESTION)  # Freshdesk's retry
    assert REFUND_ANSWER in reply
    assert again["status"] == "duplicate"


def test_the_bots_own_reply_is_ignored_and_an_agents_reply_silences_the_bot(
    start_deskhand: StartDeskhand, fake: FakeFreshdesk
) -> None:
    ticket = fake.seed_ticket("Refund question", "ada@example.com")
    with start_deskhand(bot=bot(fake)) as deskhand:
        own = post(deskhand, "freshdesk", TOKEN, delivery("bot_reply", ticket))
        agent = post(deskhand, "freshdesk", TOKEN, delivery("agent_reply", ticket))
        key = f"demo:freshdesk:{ticket['id']}"
        wait_for(lambda: (transcript(deskhand, key) or {}).get("mode") == "manual")
        customer_writes(deskhand, ticket, REFUND_QUESTION)
        time.sleep(3)  # a worker would have answered by now
    assert own.json()["status"] == "ignored"
    assert agent.json()["status"] == "queued"
    assert written(fake, ticket, "reply") == []


def test_in_draft_mode_the_answer_is_a_private_note(
    start_deskhand: StartDeskhand, fake: FakeFreshdesk
) -> None:
    ticket = fake.seed_ticket("Refund question", "ada@example.com")
    with start_deskhand(bot=bot(fake, reply_mode="draft")) as deskhand:
        customer_writes(deskhand, ticket, REFUND_QUESTION)
        (note,) = wait_for(lambda: written(fake, ticket, "notes"))
    (call,) = fake.calls("POST", f"/api/v2/tickets/{ticket['id']}/notes")
    assert REFUND_ANSWER in note and call.body["private"] is True
    assert written(fake, ticket, "reply") == []


def test_a_wrong_token_is_refused(start_deskhand: StartDeskhand, fake: FakeFreshdesk) -> None:
    ticket = fake.seed_ticket("Refund question", "ada@example.com")
    with start_deskhand(bot=bot(fake)) as deskhand:
        body = delivery("customer_reply", ticket)
        answer = post(deskhand, "freshdesk", "fd-token-wrong-0123456789", body)
    assert answer.status_code == 401
