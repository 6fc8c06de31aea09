"""FrontClient against the fake Front over real HTTP: the documented Core API requests, and
what each failure Front can answer becomes (typed errors, retries, check-before-write)."""

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.fake_helpdesks.front import (
    AGENT,
    BOT,
    INBOXES,
    FakeFront,
    front_client,
)
from tests.support.sleeps import Sleeps
from tools.context import Customer
from tools.errors import (
    HelpdeskAuthError,
    HelpdeskRejected,
    HelpdeskResponseInvalid,
    HelpdeskUnavailable,
    TicketingError,
    TicketNotFound,
)
from tools.retry import RetryPolicy
from tools.ticketing.base import (
    Handoff,
    NewTicket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.front import FrontClient, FrontConfig
from tools.ticketing.key_marker import digest, marker

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
TIMEOUT_S = 0.3
STALL_S = 0.8
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeFront]:
    fake = FakeFront()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeFront, sleeps: Sleeps) -> AsyncIterator[FrontClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = front_client(fake, sleep=sleeps, timeout_s=TIMEOUT_S, retry=retry)
    yield opened
    await opened.aclose()


@pytest.fixture
def conv(fake: FakeFront) -> Json:
    return fake.add_conversation("ada@example.com", "Lamp missing", "It has not arrived.")


def path(conv: Json, tail: str = "") -> str:
    return f"/conversations/{conv['id']}{tail}"


# --- the documented requests -------------------------------------------------------------
async def test_a_reply_is_a_message_by_the_bot_teammate(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    reply = await client.comment(conv["id"], "It left the depot.", True, "turn-2:reply")
    (post,) = fake.calls("POST", path(conv, "/messages"))
    assert post.headers["authorization"] == f"Bearer {fake.token}"
    assert post.body == {"author_id": BOT, "body": "It left the depot." + marker("turn-2:reply")}
    sent = conv["_messages"][-1]
    assert (reply.id, reply.body, reply.public, reply.author_id) == (
        sent["id"],
        "It left the depot.",
        True,
        BOT,
    )


async def test_a_note_is_a_comment(client: FrontClient, fake: FakeFront, conv: Json) -> None:
    note = await client.comment(conv["id"], "Carrier says Tuesday.", False, "n-1")
    (post,) = fake.calls("POST", path(conv, "/comments"))
    assert post.body == {"author_id": BOT, "body": "Carrier says Tuesday." + marker("n-1")}
    assert (note.id, note.public) == (conv["_comments"][0]["id"], False)
    listed = await client.list_comments(conv["id"])
    assert [(c.body, c.public) for c in listed] == [
        ("It has not arrived.", True),
        ("Carrier says Tuesday.", False),
    ]


async def test_lists_follow_pagination_on_front_s_host_only(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    fake.page_size = 2
    for n in range(3):
        fake.add_message(conv, f"reply {n}", author=BOT)
    comments = await client.list_comments(conv["id"])
    assert len(fake.calls("GET", path(conv, "/messages"))) == 2
    assert [c.body for c in comments] == ["It has not arrived.", "reply 0", "reply 1", "reply 2"]
    foreign = {"_pagination": {"next": "https://elsewhere.example/x"}, "_results": []}
    fake.fail_next(200, body=foreign, method="GET", path=path(conv, "/comments"))
    assert len(await client.list_comments(conv["id"])) == 4  # the foreign link is not followed


async def test_get_reads_the_inbox_as_the_group(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    conv.update(status="archived", assignee={"id": AGENT}, _inbox="inb_tier1")
    conv["tags"] = [{"id": "tag_1", "name": "priority_urgent"}]
    ticket = await client.get_ticket(conv["id"])
    assert fake.calls("GET", path(conv, "/inboxes"))
    assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, TicketPriority.URGENT)
    assert (ticket.assignee_id, ticket.group_id) == (AGENT, "inb_tier1")
    assert ticket.requester_email == "ada@example.com"
    assert ticket.requester_id == fake.contacts["ada@example.com"]


async def test_ticket_statuses_win_when_front_reports_a_category(
    client: FrontClient, conv: Json
) -> None:
    conv["status_category"] = "waiting"
    assert (await client.get_ticket(conv["id"])).status == TicketStatus.PENDING


async def test_status_inbox_and_assignee_are_a_patch_and_a_put(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    update = TicketUpdate(status=TicketStatus.SOLVED, group_id="inb_tier1", assignee_id=AGENT)
    ticket = await client.update_ticket(conv["id"], update, "u-1")
    (patch,) = fake.calls("PATCH", path(conv))
    assert patch.body == {"status": "archived", "inbox_id": "inb_tier1"}
    (put,) = fake.calls("PUT", path(conv, "/assignee"))
    assert put.body == {"assignee_id": AGENT}
    assert (ticket.status, ticket.group_id, ticket.assignee_id) == (
        TicketStatus.SOLVED,
        "inb_tier1",
        AGENT,
    )
    await client.update_ticket(conv["id"], TicketUpdate(status=TicketStatus.SOLVED), "u-2")
    assert len(fake.calls("PATCH", path(conv))) == 1  # already archived: nothing sent


async def test_tags_are_added_and_removed_by_id(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    fake.tags["tag_vip"] = {"id": "tag_vip", "name": "vip"}
    conv["tags"] = [{"id": "tag_old", "name": "billing"}]
    update = TicketUpdate(add_tags=("vip", "refund"), remove_tags=("billing",))
    ticket = await client.update_ticket(conv["id"], update, "t-1")
    (made,) = fake.calls("POST", "/tags")
    assert made.body == {"name": "refund"}
    refund = next(t["id"] for t in fake.tags.values() if t["name"] == "refund")
    (added,) = fake.calls("POST", path(conv, "/tags"))
    assert added.body == {"tag_ids": ["tag_vip", refund]}
    (removed,) = fake.calls("DELETE", path(conv, "/tags"))
    assert removed.body == {"tag_ids": ["tag_old"]}
    assert set(ticket.tags) == {"vip", "refund"}
    assert client.supports_priority is False


async def test_hand_off_comments_tags_reopens_moves_and_unassigns(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    conv.update(status="archived", assignee={"id": AGENT})
    handoff = Handoff("refund", "Wants 250 EUR back.", TicketPriority.URGENT, "inb_tier2")
    await client.hand_off(conv["id"], handoff, "h-1")
    (note,) = fake.calls("POST", path(conv, "/comments"))
    assert note.body == {"author_id": BOT, "body": handoff_note(handoff) + marker("h-1:note")}
    (patch,) = fake.calls("PATCH", path(conv))
    assert patch.body == {"status": "open", "inbox_id": "inb_tier2"}
    (put,) = fake.calls("PUT", path(conv, "/assignee"))
    assert put.body == {"assignee_id": None}
    ticket = await client.get_ticket(conv["id"])
    assert (ticket.status, ticket.group_id, ticket.assignee_id) == (
        TicketStatus.OPEN,
        "inb_tier2",
        None,
    )
    assert {"bot_escalated", "priority_urgent"} <= set(ticket.tags)


async def test_create_imports_the_customer_s_message_then_finds_its_conversation(
    client: FrontClient, fake: FakeFront, sleeps: Sleeps
) -> None:
    fake.import_hidden_reads = 2  # Front processes imports asynchronously
    new = NewTicket("Lamp missing", "Two weeks late.", ADA, TicketPriority.HIGH, ("billing",))
    ticket = await client.create_ticket(new, "turn-1:create")
    (check,) = fake.calls("GET", "/contacts/alt:email:ada@example.com/conversations")
    assert check.query == {"limit": "10"}
    (post,) = fake.calls("POST", "/inboxes/inb_support/imported_messages")
    created_at = post.body.pop("created_at")
    assert isinstance(created_at, int)
    assert post.body == {
        "sender": {"handle": "ada@example.com", "name": "Ada Lovelace"},
        "to": [INBOXES["inb_support"]],
        "subject": "Lamp missing",
        "body": "Two weeks late." + marker("turn-1:create"),
        "external_id": f"deskhand-{digest('turn-1:create')}",
        "type": "email",
        "tags": ["billing", "priority_high"],
        "metadata": {
            "is_inbound": True,
            "is_archived": False,
            "thread_ref": digest("turn-1:create"),
        },
    }
    reads = [r.path for r in fake.requests if r.path.startswith("/messages/alt:uid:")]
    assert len(reads) == 3 and sleeps.delays == [0.01, 0.01]
    assert (ticket.subject, ticket.group_id) == ("Lamp missing", "inb_support")
    assert {"billing", "priority_high"} <= set(ticket.tags)


async def test_create_needs_an_e_mail_and_an_inbox(fake: FakeFront) -> None:
    client = front_client(fake)
    unconfigured = front_client(fake, inbox_id=None)
    try:
        with pytest.raises(TicketingError, match="e-mail"):
            await client.create_ticket(NewTicket("s", "b", Customer("c1")), "k")
        with pytest.raises(TicketingError, match="inbox_id"):
            await unconfigured.create_ticket(NewTicket("s", "b", ADA), "k")
    finally:
        await client.aclose()
        await unconfigured.aclose()
    assert not fake.requests


async def test_an_import_never_processed_is_an_error(fake: FakeFront) -> None:
    fake.import_hidden_reads = 100
    client = front_client(fake, import_poll_attempts=3, import_poll_s=0.001)
    try:
        with pytest.raises(TicketingError, match="not processed"):
            await client.create_ticket(NewTicket("s", "b", ADA), "k")
    finally:
        await client.aclose()


async def test_a_customer_s_conversations_come_from_the_contact_alias(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    newer = fake.add_conversation("ada@example.com", "Second")
    tickets = await client.list_customer_tickets(ADA, limit=5)
    (call,) = fake.calls("GET", "/contacts/alt:email:ada@example.com/conversations")
    assert call.query == {"limit": "5"}
    assert [t.id for t in tickets] == [newer["id"], conv["id"]]
    by_id = await client.list_customer_tickets(Customer(fake.contacts["ada@example.com"]))
    assert [t.id for t in by_id] == [newer["id"], conv["id"]]
    assert await client.list_customer_tickets(Customer("x", "nobody@example.com")) == []


# --- failures ----------------------------------------------------------------------------
async def test_a_wrong_token_is_an_auth_error_and_is_not_retried(fake: FakeFront) -> None:
    config = FrontConfig(api_token="wrong-front-token", teammate_id=BOT, base_url=fake.url)
    client = FrontClient(config)
    try:
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket("cnv_1")
    finally:
        await client.aclose()
    assert len(fake.requests) == 1
    assert "Invalid token" in str(raised.value) and "wrong-front-token" not in str(raised.value)


async def test_an_unknown_conversation_is_not_found(client: FrontClient) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("cnv_missing")


@pytest.mark.parametrize("status", [409, 422])
async def test_a_refusal_carries_front_s_message(
    client: FrontClient, fake: FakeFront, conv: Json, status: int
) -> None:
    refusal = {"_error": {"status": status, "title": "Conflict", "message": "Inbox is full"}}
    fake.fail_next(status, body=refusal, method="PATCH", path=path(conv))
    with pytest.raises(HelpdeskRejected) as raised:
        await client.update_ticket(conv["id"], TicketUpdate(group_id="inb_tier1"), "u-1")
    assert raised.value.status_code == status and "Inbox is full" in str(raised.value)


async def test_a_rate_limit_waits_as_retry_after_says(
    client: FrontClient, fake: FakeFront, sleeps: Sleeps, conv: Json
) -> None:
    fake.fail_next(429, retry_after="12", method="GET", path=path(conv))
    await client.get_ticket(conv["id"])
    assert sleeps.delays == [12.0]


async def test_server_errors_are_retried_then_succeed_or_give_up(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    fake.fail_next(502, times=2, method="POST", path=path(conv, "/comments"))
    await client.comment(conv["id"], "note", False, "n-1")
    assert len(conv["_comments"]) == 1
    fake.fail_next(500, times=3, method="GET", path=path(conv))
    with pytest.raises(HelpdeskUnavailable):
        await client.get_ticket(conv["id"])


async def test_a_timeout_is_retried(
    client: FrontClient, fake: FakeFront, sleeps: Sleeps, conv: Json
) -> None:
    fake.stall_next(STALL_S, method="GET", path=path(conv))
    assert (await client.get_ticket(conv["id"])).id == conv["id"]
    assert len(sleeps.delays) == 1


async def test_malformed_answers_are_invalid(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    fake.malformed_next(method="GET", path=path(conv))
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket(conv["id"])
    fake.fail_next(200, body={"_results": {"not": "a list"}}, method="GET")
    with pytest.raises(HelpdeskResponseInvalid):
        await client.list_comments(conv["id"])


async def test_a_reply_whose_answer_was_lost_is_not_posted_twice(
    client: FrontClient, fake: FakeFront, conv: Json
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path=path(conv, "/messages"))
    reply = await client.comment(conv["id"], "Refund sent.", True, "r-lost")
    assert len(fake.calls("POST", path(conv, "/messages"))) == 1
    assert [m["id"] for m in conv["_messages"][1:]] == [reply.id]


async def test_an_import_whose_answer_was_lost_makes_one_conversation(
    client: FrontClient, fake: FakeFront
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path="/inboxes/inb_support/imported_messages")
    ticket = await client.create_ticket(NewTicket("Lamp", "Late.", ADA), "c-lost")
    assert list(fake.conversations) == [ticket.id]


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeFront, caplog: pytest.LogCaptureFixture, conv: Json
) -> None:
    secret = "front-very-secret-token"
    config = FrontConfig(api_token=secret, teammate_id=BOT, base_url=fake.url)
    assert secret not in repr(config)
    client = FrontClient(config, retry=RetryPolicy(2, 0.001, 0.002))
    fake.fail_next(503, method="GET")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket(conv["id"])
        await client.aclose()
    assert caplog.records
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert secret not in logged and secret not in str(raised.value)
