"""HelpScoutClient against the fake Help Scout over real HTTP: OAuth2 client credentials, the
documented Mailbox API 2.0 requests, and what each failure becomes (typed errors, retries,
one token refresh, check-before-write, tag sets merged before they are replaced)."""

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.fake_helpdesks.helpscout import (
    MAILBOXES,
    USERS,
    FakeHelpScout,
    helpscout_client,
)
from tests.support.sleeps import Sleeps
from tools.context import Customer
from tools.errors import (
    HelpdeskAuthError,
    HelpdeskRejected,
    HelpdeskResponseInvalid,
    HelpdeskUnavailable,
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
from tools.ticketing.helpscout import HelpScoutClient, HelpScoutConfig
from tools.ticketing.key_marker import marker

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
TIMEOUT_S = 0.3
STALL_S = 0.8
TOKEN_PATH = "/v2/oauth2/token"
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeHelpScout]:
    fake = FakeHelpScout()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeHelpScout, sleeps: Sleeps) -> AsyncIterator[HelpScoutClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = helpscout_client(fake, sleep=sleeps, timeout_s=TIMEOUT_S, retry=retry)
    yield opened
    await opened.aclose()


@pytest.fixture
def conv(fake: FakeHelpScout) -> Json:
    customer = fake.add_customer("ada@example.com", "Ada")
    return fake.add_conversation(customer, "Lamp missing", "It has not arrived.")


def path(conv: Json, tail: str = "") -> str:
    return f"/v2/conversations/{conv['id']}{tail}"


def form(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.body).items()}


# --- OAuth2 client credentials -----------------------------------------------------------
async def test_a_token_is_fetched_once_then_sent_as_bearer(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    await client.get_ticket(str(conv["id"]))
    await client.list_comments(str(conv["id"]))
    (token,) = fake.calls("POST", TOKEN_PATH)
    assert token.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(token) == {
        "grant_type": "client_credentials",
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
    }
    api = [r for r in fake.requests if r.path != TOKEN_PATH]
    assert [r.headers["authorization"] for r in api] == ["Bearer hs-token-1"] * 2


async def test_a_token_about_to_expire_is_renewed_before_use(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    fake.expires_in = 30  # within the client's renewal margin: never reused
    await client.get_ticket(str(conv["id"]))
    await client.get_ticket(str(conv["id"]))
    assert len(fake.calls("POST", TOKEN_PATH)) == 2


async def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    await client.get_ticket(str(conv["id"]))
    fake.revoke_tokens()
    ticket = await client.get_ticket(str(conv["id"]))
    assert ticket.id == str(conv["id"])
    assert len(fake.calls("POST", TOKEN_PATH)) == 2
    last = fake.calls("GET", path(conv))[-1]
    assert last.headers["authorization"] == "Bearer hs-token-2"


async def test_a_401_after_a_fresh_token_fails_without_looping(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    await client.get_ticket(str(conv["id"]))
    fake.fail_next(401, times=2, method="GET", path=path(conv))
    with pytest.raises(HelpdeskAuthError):
        await client.get_ticket(str(conv["id"]))
    assert len(fake.calls("POST", TOKEN_PATH)) == 2  # the first token, one refresh
    assert len(fake.calls("GET", path(conv))) == 3  # the first call, then two tries


async def test_wrong_client_credentials_are_an_auth_error_not_retried(
    fake: FakeHelpScout,
) -> None:
    config = HelpScoutConfig("hs-app-id", "wrong-secret-value", "85", base_url=fake.url)
    client = HelpScoutClient(config)
    try:
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket("1")
    finally:
        await client.aclose()
    assert [r.path for r in fake.requests] == [TOKEN_PATH]
    assert "invalid_client" in str(raised.value)
    assert "wrong-secret-value" not in str(raised.value)


async def test_a_token_endpoint_outage_is_retried(
    client: HelpScoutClient, fake: FakeHelpScout, sleeps: Sleeps, conv: Json
) -> None:
    fake.fail_next(503, method="POST", path=TOKEN_PATH)
    ticket = await client.get_ticket(str(conv["id"]))
    assert ticket.id == str(conv["id"]) and len(sleeps.delays) == 1
    assert len(fake.calls("POST", TOKEN_PATH)) == 2


# --- the documented requests -------------------------------------------------------------
async def test_a_reply_names_the_customer_and_is_found_by_its_thread(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    reply = await client.comment(str(conv["id"]), "It left the depot.", True, "turn-2:reply")
    (post,) = fake.calls("POST", path(conv, "/reply"))
    customer_id = conv["primaryCustomer"]["id"]
    assert post.body == {
        "text": "It left the depot." + marker("turn-2:reply"),
        "customer": {"id": customer_id},
    }
    thread = conv["_threads"][-1]
    assert (reply.id, reply.body, reply.public) == (str(thread["id"]), "It left the depot.", True)


async def test_a_note_is_posted_to_notes_as_the_configured_user(fake: FakeHelpScout) -> None:
    customer = fake.add_customer("bob@example.com")
    conv = fake.add_conversation(customer)
    client = helpscout_client(fake, user_id=str(USERS[1]))
    try:
        note = await client.comment(str(conv["id"]), "Checked the carrier.", False, "n-1")
    finally:
        await client.aclose()
    (post,) = fake.calls("POST", path(conv, "/notes"))
    assert post.body == {"text": "Checked the carrier." + marker("n-1"), "user": USERS[1]}
    assert (note.public, note.author_id) == (False, str(USERS[1]))


async def test_threads_are_read_page_by_page_and_listed_oldest_first(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    fake.threads_per_page = 2
    for n in range(4):
        fake.add_thread(conv, "note" if n % 2 else "message", f"text {n}", {"id": 100})
    fake.add_thread(conv, "lineitem", "Assigned to Bob", {"id": 100})
    comments = await client.list_comments(str(conv["id"]))
    pages = [call.query["page"] for call in fake.calls("GET", path(conv, "/threads"))]
    assert pages == ["1", "2", "3"]
    assert [(c.body, c.public) for c in comments] == [
        ("It has not arrived.", True),
        ("text 0", True),
        ("text 1", False),
        ("text 2", True),
        ("text 3", False),
    ]


async def test_get_maps_status_mailbox_assignee_and_priority_tag(
    client: HelpScoutClient, conv: Json
) -> None:
    conv.update(status="pending", mailboxId=86, assignee={"id": 101, "type": "user"})
    conv["tags"] = [{"id": 1, "tag": "priority_low"}, {"id": 2, "tag": "vip"}]
    ticket = await client.get_ticket(str(conv["id"]))
    assert (ticket.status, ticket.priority) == (TicketStatus.PENDING, TicketPriority.LOW)
    assert (ticket.group_id, ticket.assignee_id) == ("86", "101")
    assert ticket.tags == ("priority_low", "vip")
    assert ticket.requester_email == "ada@example.com"
    assert ticket.url and ticket.url.startswith("https://secure.helpscout.net/conversation/")


async def test_updates_are_one_json_patch_operation_each(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    update = TicketUpdate(status=TicketStatus.SOLVED, assignee_id="101", group_id="86")
    ticket = await client.update_ticket(str(conv["id"]), update, "u-1")
    await client.update_ticket(str(conv["id"]), update, "u-1")  # all in place: no patch
    assert [c.body for c in fake.calls("PATCH", path(conv))] == [
        {"op": "replace", "path": "/status", "value": "closed"},
        {"op": "move", "path": "/mailboxId", "value": 86},
        {"op": "replace", "path": "/assignTo", "value": 101},
    ]
    assert (ticket.status, ticket.group_id, ticket.assignee_id) == (
        TicketStatus.SOLVED,
        "86",
        "101",
    )


async def test_tags_are_merged_before_the_set_is_replaced(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    conv["tags"] = [{"id": 1, "tag": "vip"}, {"id": 2, "tag": "billing"}, {"id": 3, "tag": "x"}]
    conv["tags"].append({"id": 4, "tag": "priority_low"})
    update = TicketUpdate(
        add_tags=("refund",), remove_tags=("billing",), priority=TicketPriority.HIGH
    )
    ticket = await client.update_ticket(str(conv["id"]), update, "t-1")
    (put,) = fake.calls("PUT", path(conv, "/tags"))
    assert put.body == {"tags": ["vip", "x", "refund", "priority_high"]}
    assert ticket.priority == TicketPriority.HIGH
    await client.update_ticket(str(conv["id"]), TicketUpdate(add_tags=("vip",)), "t-2")
    assert len(fake.calls("PUT", path(conv, "/tags"))) == 1  # nothing to change: no PUT


async def test_hand_off_notes_tags_reactivates_moves_and_unassigns(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    conv.update(status="closed", assignee={"id": 100, "type": "user"})
    handoff = Handoff("refund", "Wants 250 EUR back.", TicketPriority.URGENT, "87")
    await client.hand_off(str(conv["id"]), handoff, "h-1")
    (note,) = fake.calls("POST", path(conv, "/notes"))
    assert note.body == {"text": handoff_note(handoff) + marker("h-1:note")}
    assert [c.body for c in fake.calls("PATCH", path(conv))] == [
        {"op": "replace", "path": "/status", "value": "active"},
        {"op": "move", "path": "/mailboxId", "value": 87},
        {"op": "remove", "path": "/assignTo"},
    ]
    (put,) = fake.calls("PUT", path(conv, "/tags"))
    assert put.body == {"tags": ["bot_escalated", "priority_urgent"]}


async def test_create_posts_the_conversation_and_reads_the_resource_id(
    client: HelpScoutClient, fake: FakeHelpScout
) -> None:
    new = NewTicket("Lamp missing", "Two weeks late.", ADA, TicketPriority.HIGH, ("billing",))
    ticket = await client.create_ticket(new, "turn-1:create")
    (post,) = fake.calls("POST", "/v2/conversations")
    customer = {"email": "ada@example.com", "firstName": "Ada Lovelace"}
    assert post.body == {
        "subject": "Lamp missing",
        "customer": customer,
        "mailboxId": MAILBOXES[0],
        "type": "email",
        "status": "active",
        "threads": [
            {
                "type": "customer",
                "customer": customer,
                "text": "Two weeks late." + marker("turn-1:create"),
            }
        ],
        "tags": ["billing", "priority_high"],
    }
    created_id = max(fake.conversations)
    assert ticket.id == str(created_id)
    assert fake.calls("GET", f"/v2/conversations/{created_id}")  # read back by Resource-ID
    (check,) = fake.calls("GET", "/v2/conversations")  # the check before the write
    assert check.query["embed"] == "threads"


async def test_a_customer_s_conversations_are_a_query_on_all_statuses(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    conv["status"] = "closed"
    newer = fake.add_conversation(fake.customers[conv["primaryCustomer"]["id"]])
    tickets = await client.list_customer_tickets(ADA, limit=5)
    (call,) = fake.calls("GET", "/v2/conversations")
    assert call.query == {
        "query": '(email:"ada@example.com")',
        "status": "all",
        "sortField": "createdAt",
        "sortOrder": "desc",
    }
    assert [t.id for t in tickets] == [str(newer["id"]), str(conv["id"])]
    by_id = await client.list_customer_tickets(Customer(str(conv["primaryCustomer"]["id"])))
    assert fake.calls("GET", "/v2/conversations")[-1].query["query"] == (
        f"(customerIds:{conv['primaryCustomer']['id']})"
    )
    assert len(by_id) == 2


# --- failures ----------------------------------------------------------------------------
async def test_an_unknown_conversation_is_not_found(client: HelpScoutClient) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("424242")


@pytest.mark.parametrize("status", [409, 422])
async def test_a_refusal_carries_help_scout_s_message(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json, status: int
) -> None:
    refusal = {"logRef": "x", "message": "Conversation is locked", "_embedded": {"errors": []}}
    fake.fail_next(status, body=refusal, method="POST", path=path(conv, "/notes"))
    with pytest.raises(HelpdeskRejected) as raised:
        await client.comment(str(conv["id"]), "note", False, "n-1")
    assert raised.value.status_code == status
    assert "Conversation is locked" in str(raised.value)


async def test_a_rate_limit_waits_as_retry_after_says(
    client: HelpScoutClient, fake: FakeHelpScout, sleeps: Sleeps, conv: Json
) -> None:
    fake.fail_next(429, retry_after="4", method="GET", path=path(conv))
    await client.get_ticket(str(conv["id"]))
    assert sleeps.delays == [4.0]


async def test_server_errors_are_retried_then_succeed_or_give_up(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    fake.fail_next(500, times=2, method="GET", path=path(conv))
    assert (await client.get_ticket(str(conv["id"]))).id == str(conv["id"])
    fake.fail_next(500, times=3, method="GET", path=path(conv))
    with pytest.raises(HelpdeskUnavailable):
        await client.get_ticket(str(conv["id"]))


async def test_a_timeout_is_retried(
    client: HelpScoutClient, fake: FakeHelpScout, sleeps: Sleeps, conv: Json
) -> None:
    fake.stall_next(STALL_S, method="GET", path=path(conv))
    assert (await client.get_ticket(str(conv["id"]))).id == str(conv["id"])
    assert len(sleeps.delays) == 1


async def test_malformed_answers_are_invalid(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    fake.malformed_next(method="GET", path=path(conv))
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket(str(conv["id"]))
    fake.fail_next(200, body={"_embedded": {"threads": "nope"}}, method="GET")
    with pytest.raises(HelpdeskResponseInvalid):
        await client.list_comments(str(conv["id"]))
    fake.fail_next(200, body={"token_type": "bearer"}, method="POST", path=TOKEN_PATH)
    fresh = helpscout_client(fake)
    try:
        with pytest.raises(HelpdeskResponseInvalid):
            await fresh.get_ticket(str(conv["id"]))
    finally:
        await fresh.aclose()


async def test_a_reply_whose_answer_was_lost_is_not_posted_twice(
    client: HelpScoutClient, fake: FakeHelpScout, conv: Json
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path=path(conv, "/reply"))
    reply = await client.comment(str(conv["id"]), "Refund sent.", True, "r-lost")
    assert len(fake.calls("POST", path(conv, "/reply"))) == 1
    replies = [t for t in conv["_threads"] if t["type"] == "message"]
    assert [str(t["id"]) for t in replies] == [reply.id]


async def test_a_create_whose_answer_was_lost_makes_one_conversation(
    client: HelpScoutClient, fake: FakeHelpScout
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path="/v2/conversations")
    ticket = await client.create_ticket(NewTicket("Lamp", "Late.", ADA), "c-lost")
    assert [str(i) for i in fake.conversations] == [ticket.id]


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeHelpScout, caplog: pytest.LogCaptureFixture, conv: Json
) -> None:
    config = HelpScoutConfig(fake.client_id, fake.client_secret, "85", base_url=fake.url)
    assert fake.client_secret not in repr(config) and fake.client_id not in repr(config)
    client = HelpScoutClient(config, retry=RetryPolicy(2, 0.001, 0.002))
    fake.fail_next(500, method="GET", path=path(conv))
    fake.fail_next(401, times=2, method="GET", path=path(conv))
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket(str(conv["id"]))
        await client.aclose()
    assert caplog.records
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    for secret in (fake.client_secret, *fake.issued):
        assert secret not in logged and secret not in str(raised.value)
