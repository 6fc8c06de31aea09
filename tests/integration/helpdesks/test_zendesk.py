"""ZendeskClient against the fake Zendesk over real HTTP: the documented requests, and what
each failure Zendesk can answer becomes (typed errors, retries, check-before-write)."""

import base64
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.fake_helpdesks.zendesk import (
    BOT_AGENT_ID,
    ESCALATIONS_GROUP_ID,
    HUMAN_AGENT_ID,
    SUPPORT_GROUP_ID,
    FakeZendesk,
    zendesk_client,
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
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.key_marker import strip_markers
from tools.ticketing.zendesk import ZendeskClient, ZendeskConfig

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
TOKEN = "zd-api-token-6f1c0e9a"
BASIC = "Basic " + base64.b64encode(f"bot@acme.example/token:{TOKEN}".encode()).decode()
TIMEOUT_S = 0.4  # the impatient client's; a stalled answer takes longer
STALL_S = 0.9


@pytest.fixture
def fake() -> Iterator[FakeZendesk]:
    fake = FakeZendesk()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeZendesk, sleeps: Sleeps) -> AsyncIterator[ZendeskClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = zendesk_client(fake, sleep=sleeps, retry=retry)
    yield opened
    await opened.aclose()


@pytest.fixture
async def impatient(fake: FakeZendesk) -> AsyncIterator[ZendeskClient]:
    """A client whose timeout a stalled answer outlasts."""
    opened = zendesk_client(fake, timeout_s=TIMEOUT_S)
    yield opened
    await opened.aclose()


async def a_ticket(client: ZendeskClient, key: str = "create-1") -> Ticket:
    new = NewTicket(
        "Where is my order?",
        "It is two weeks late.",
        ADA,
        TicketPriority.HIGH,
        ("billing", "order_status"),
    )
    return await client.create_ticket(new, key)


# --- the documented requests -------------------------------------------------------------
async def test_create_is_a_post_with_the_idempotency_key(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client, "turn-7:create")
    (call,) = fake.calls("POST", "/api/v2/tickets.json")
    assert call.headers["authorization"] == BASIC
    assert call.headers["idempotency-key"] == "turn-7:create"
    assert call.headers["content-type"] == "application/json"
    assert call.body == {
        "ticket": {
            "subject": "Where is my order?",
            "comment": {"body": "It is two weeks late.", "public": True},
            "requester": {"email": "ada@example.com", "name": "Ada Lovelace"},
            "priority": "high",
            "tags": ["billing", "order_status"],
        }
    }
    stored = fake.tickets[int(ticket.id)]
    assert ticket.requester_id == str(stored["requester_id"])
    assert ticket.requester_email == "ada@example.com"
    assert ticket.url == f"{fake.url}/agent/tickets/{ticket.id}"


async def test_get_side_loads_the_requester(client: ZendeskClient, fake: FakeZendesk) -> None:
    ticket = await a_ticket(client)
    fetched = await client.get_ticket(ticket.id)
    call = fake.calls("GET", fake.ticket_path(ticket.id))[-1]
    assert call.query == {"include": "users"}
    assert call.headers["authorization"] == BASIC
    assert (fetched.status, fetched.priority) == (TicketStatus.NEW, TicketPriority.HIGH)
    assert fetched.requester_email == "ada@example.com"
    assert fetched.tags == ("billing", "order_status")


async def test_a_comment_is_a_ticket_update_carrying_an_invisible_key(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    comment = await client.comment(ticket.id, "Your parcel left today.", True, "turn-8:reply")
    (put,) = fake.calls("PUT", fake.ticket_path(ticket.id))
    sent = put.body["ticket"]["comment"]
    assert put.body == {
        "ticket": {"comment": {"body": sent["body"], "public": True, "author_id": BOT_AGENT_ID}}
    }
    assert sent["body"].startswith("Your parcel left today.")
    assert strip_markers(sent["body"]) == "Your parcel left today."
    assert sent["body"] != "Your parcel left today." and "turn-8" not in sent["body"]
    check = fake.requests.index(fake.calls("GET", fake.ticket_path(ticket.id, "/comments"))[0])
    assert check < fake.requests.index(put)  # looked for an earlier post first
    assert fake.requests[check].query == {"sort": "-created_at", "page[size]": "100"}
    stored = fake.comments[int(ticket.id)][-1]
    assert (comment.id, comment.body, comment.public) == (
        str(stored["id"]),
        "Your parcel left today.",
        True,
    )
    assert comment.author_id == str(BOT_AGENT_ID)


async def test_a_note_is_the_same_update_not_public(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    note = await client.comment(ticket.id, "Carrier confirmed the delay.", False, "note-1")
    (put,) = fake.calls("PUT", fake.ticket_path(ticket.id))
    assert put.body["ticket"]["comment"]["public"] is False
    assert note.public is False and fake.comments[int(ticket.id)][-1]["public"] is False


async def test_update_sets_fields_on_the_ticket_and_tags_through_the_tags_api(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    update = TicketUpdate(
        status=TicketStatus.SOLVED,
        priority=TicketPriority.URGENT,
        add_tags=("vip",),
        remove_tags=("billing",),
        assignee_id=str(HUMAN_AGENT_ID),
        group_id=str(SUPPORT_GROUP_ID),
    )
    updated = await client.update_ticket(ticket.id, update, "update-1")
    (put,) = fake.calls("PUT", fake.ticket_path(ticket.id))
    assert put.body == {
        "ticket": {
            "status": "solved",
            "priority": "urgent",
            "assignee_id": HUMAN_AGENT_ID,
            "group_id": SUPPORT_GROUP_ID,
        }
    }
    tags = fake.ticket_path(ticket.id, "/tags")
    assert [c.body for c in fake.calls("PUT", tags)] == [{"tags": ["vip"]}]
    assert [c.body for c in fake.calls("DELETE", tags)] == [{"tags": ["billing"]}]
    assert updated.tags == ("order_status", "vip")
    assert (updated.status, updated.assignee_id) == (TicketStatus.SOLVED, str(HUMAN_AGENT_ID))


async def test_hand_off_is_one_update_with_a_private_note_then_the_tag(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    handoff = Handoff("legal threat", "Customer mentions a lawyer.", TicketPriority.URGENT)
    await client.hand_off(ticket.id, handoff, "handoff-1")
    (put,) = fake.calls("PUT", fake.ticket_path(ticket.id))
    note = put.body["ticket"]["comment"]["body"]
    assert put.body == {
        "ticket": {
            "status": "open",
            "assignee_id": None,
            "group_id": ESCALATIONS_GROUP_ID,  # the configured hand-off group
            "priority": "urgent",
            "comment": {"body": note, "public": False, "author_id": BOT_AGENT_ID},
        }
    }
    assert strip_markers(note) == handoff_note(handoff)
    tags = fake.calls("PUT", fake.ticket_path(ticket.id, "/tags"))
    assert [c.body for c in tags] == [{"tags": ["bot_escalated"]}]
    assert {r.headers["authorization"] for r in fake.requests} == {BASIC}


async def test_a_customers_tickets_are_found_by_email_then_requested(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    first = await a_ticket(client, "create-1")
    second = await a_ticket(client, "create-2")
    found = await client.list_customer_tickets(ADA)
    assert [t.id for t in found] == [second.id, first.id]
    (search,) = fake.calls("GET", "/api/v2/users/search.json")
    assert search.query == {"query": "email:ada@example.com"}
    requested = f"/api/v2/users/{first.requester_id}/tickets/requested.json"
    (listing,) = fake.calls("GET", requested)
    assert listing.query == {"include": "users", "page[size]": "100"}
    assert all(t.requester_email == "ada@example.com" for t in found)
    assert {r.headers["authorization"] for r in fake.requests} == {BASIC}


async def test_long_lists_are_read_page_after_page(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    stored = fake.comments[int(ticket.id)]
    for n in range(150):
        stored.append({**stored[0], "id": 90000 + n, "body": f"message {n}"})
    comments = await client.list_comments(ticket.id)
    assert len(comments) == 151 and comments[-1].body == "message 149"
    pages = fake.calls("GET", fake.ticket_path(ticket.id, "/comments"))
    assert len(pages) == 2 and "page[after]" in pages[1].query


@pytest.mark.parametrize(
    ("zendesk", "status"),
    [
        ("new", TicketStatus.NEW),
        ("open", TicketStatus.OPEN),
        ("pending", TicketStatus.PENDING),
        ("hold", TicketStatus.PENDING),
        ("solved", TicketStatus.SOLVED),
        ("closed", TicketStatus.CLOSED),
    ],
)
async def test_statuses_read_as_ours(
    client: ZendeskClient, fake: FakeZendesk, zendesk: str, status: TicketStatus
) -> None:
    ticket = await a_ticket(client)
    fake.tickets[int(ticket.id)]["status"] = zendesk
    assert (await client.get_ticket(ticket.id)).status == status


@pytest.mark.parametrize("status", [s for s in TicketStatus if s != TicketStatus.NEW])
async def test_statuses_are_sent_as_zendesk_words(
    client: ZendeskClient, fake: FakeZendesk, status: TicketStatus
) -> None:
    ticket = await a_ticket(client)
    update = TicketUpdate(status=status, assignee_id=str(HUMAN_AGENT_ID))
    assert (await client.update_ticket(ticket.id, update, "u-1")).status == status
    assert fake.calls("PUT", fake.ticket_path(ticket.id))[0].body["ticket"]["status"] == status


@pytest.mark.parametrize("priority", [*TicketPriority, None])
async def test_priorities_map_both_ways(
    client: ZendeskClient, fake: FakeZendesk, priority: TicketPriority | None
) -> None:
    ticket = await a_ticket(client)
    fake.tickets[int(ticket.id)]["priority"] = priority.value if priority else None
    assert (await client.get_ticket(ticket.id)).priority == priority
    if priority is not None:
        await client.update_ticket(ticket.id, TicketUpdate(priority=priority), "u-1")
        put = fake.calls("PUT", fake.ticket_path(ticket.id))[0]
        assert put.body == {"ticket": {"priority": priority.value}}


async def test_bearer_auth_with_an_oauth_token(fake: FakeZendesk) -> None:
    client = zendesk_client(fake, oauth=True)
    try:
        with pytest.raises(TicketNotFound):
            await client.get_ticket("1")
    finally:
        await client.aclose()
    assert fake.requests[-1].headers["authorization"] == f"Bearer {fake.oauth_token}"


async def test_ids_zendesk_cannot_have_never_reach_a_request(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("1/../../users/me")
    ticket = await a_ticket(client)
    sent = len(fake.requests)
    with pytest.raises(HelpdeskRejected, match="assignee_id"):
        await client.update_ticket(ticket.id, TicketUpdate(assignee_id="agent-1"), "u-1")
    assert len(fake.requests) == sent


def test_config_wants_one_way_in_and_a_safe_subdomain() -> None:
    assert ZendeskConfig(subdomain="acme", oauth_token="t").url == "https://acme.zendesk.com"
    with pytest.raises(ValueError, match="subdomain"):
        ZendeskConfig(subdomain="evil.example/x", oauth_token="t")
    with pytest.raises(ValueError, match="either"):
        ZendeskConfig(subdomain="acme")
    with pytest.raises(ValueError, match="either"):
        ZendeskConfig(subdomain="acme", email="a@b.c", api_token="x", oauth_token="y")
    with pytest.raises(ValueError, match="bot_agent_id"):
        ZendeskConfig(subdomain="acme", oauth_token="t", bot_agent_id="bot")


# --- failures ----------------------------------------------------------------------------
async def test_refused_credentials_are_an_auth_error_not_retried(fake: FakeZendesk) -> None:
    config = ZendeskConfig(base_url=fake.url, email=fake.email, api_token="revoked-token-123")
    client = ZendeskClient(config)
    try:
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket("1")
    finally:
        await client.aclose()
    assert len(fake.requests) == 1
    assert "revoked-token-123" not in str(raised.value)


async def test_an_unknown_ticket_is_not_found(client: ZendeskClient, fake: FakeZendesk) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("424242")
    assert len(fake.requests) == 1


async def test_a_conflict_is_rejected_with_zendesks_words(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    conflict = {"error": "UpdateConflict", "description": "Ticket was updated by someone else"}
    fake.fail_next(409, body=conflict, method="PUT")
    with pytest.raises(HelpdeskRejected) as raised:
        await client.update_ticket(ticket.id, TicketUpdate(priority=TicketPriority.LOW), "u-1")
    assert raised.value.status_code == 409
    assert "Ticket was updated by someone else" in str(raised.value)
    assert len(fake.calls("PUT", fake.ticket_path(ticket.id))) == 1


async def test_an_invalid_record_is_rejected_with_zendesks_words(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    customer_id = ticket.requester_id or ""
    with pytest.raises(HelpdeskRejected) as raised:
        await client.update_ticket(ticket.id, TicketUpdate(assignee_id=customer_id), "u-1")
    assert raised.value.status_code == 422
    assert "Assignee: is not an agent" in str(raised.value)


async def test_rate_limit_waits_as_retry_after_says(
    client: ZendeskClient, fake: FakeZendesk, sleeps: Sleeps
) -> None:
    ticket = await a_ticket(client)
    fake.fail_next(429, retry_after="3")
    assert (await client.get_ticket(ticket.id)).id == ticket.id
    assert sleeps.delays == [3.0]
    assert len(fake.calls("GET", fake.ticket_path(ticket.id))) == 2


async def test_server_errors_are_retried_until_an_answer(
    client: ZendeskClient, fake: FakeZendesk, sleeps: Sleeps
) -> None:
    ticket = await a_ticket(client)
    fake.fail_next(500, times=2)
    assert (await client.get_ticket(ticket.id)).id == ticket.id
    assert len(fake.calls("GET", fake.ticket_path(ticket.id))) == 3
    assert len(sleeps.delays) == 2


async def test_server_errors_to_the_end_are_unavailable(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(client)
    fake.fail_next(500, times=3)
    with pytest.raises(HelpdeskUnavailable, match="after 3 attempts"):
        await client.get_ticket(ticket.id)
    assert len(fake.calls("GET", fake.ticket_path(ticket.id))) == 3


async def test_a_timeout_is_retried(impatient: ZendeskClient, fake: FakeZendesk) -> None:
    ticket = await a_ticket(impatient)
    fake.stall_next(STALL_S)
    assert (await impatient.get_ticket(ticket.id)).id == ticket.id
    assert len(fake.calls("GET", fake.ticket_path(ticket.id))) == 2


async def test_a_body_that_is_not_json_is_invalid(client: ZendeskClient, fake: FakeZendesk) -> None:
    ticket = await a_ticket(client)
    fake.malformed_next()
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket(ticket.id)


async def test_json_of_the_wrong_shape_is_invalid(client: ZendeskClient, fake: FakeZendesk) -> None:
    ticket = await a_ticket(client)
    fake.fail_next(200, body={"ticket": {"id": "not-a-number", "status": "open"}})
    with pytest.raises(HelpdeskResponseInvalid, match=r"ticket\.id"):
        await client.get_ticket(ticket.id)
    fake.fail_next(200, body={"ticket": {"id": 1, "status": "on fire"}})
    with pytest.raises(HelpdeskResponseInvalid, match=r"ticket\.status"):
        await client.get_ticket(ticket.id)


async def test_a_comment_whose_answer_was_lost_is_not_posted_twice(
    impatient: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(impatient)
    fake.lose_answer_next(STALL_S, method="PUT", path=fake.ticket_path(ticket.id))
    comment = await impatient.comment(ticket.id, "Refund issued.", True, "turn-9:reply")
    posted = [c for c in fake.comments[int(ticket.id)] if "Refund issued." in c["body"]]
    assert len(posted) == 1 and comment.id == str(posted[0]["id"])
    assert len(fake.calls("PUT", fake.ticket_path(ticket.id))) == 1  # the retry found it
    assert len(fake.calls("GET", fake.ticket_path(ticket.id, "/comments"))) == 2


async def test_a_hand_off_whose_answer_was_lost_notes_once_and_still_tags(
    impatient: ZendeskClient, fake: FakeZendesk
) -> None:
    ticket = await a_ticket(impatient)
    fake.lose_answer_next(STALL_S, method="PUT", path=fake.ticket_path(ticket.id))
    await impatient.hand_off(ticket.id, Handoff("asked for a human", "Wants a call."), "h-1")
    notes = [c for c in fake.comments[int(ticket.id)] if "Wants a call." in c["body"]]
    assert len(notes) == 1 and notes[0]["public"] is False
    assert "bot_escalated" in fake.tickets[int(ticket.id)]["tags"]


async def test_a_create_whose_answer_was_lost_is_answered_by_its_key(
    impatient: ZendeskClient, fake: FakeZendesk
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path="/api/v2/tickets.json")
    ticket = await a_ticket(impatient, "turn-10:create")
    assert list(fake.tickets) == [int(ticket.id)]
    posts = fake.calls("POST", "/api/v2/tickets.json")
    assert [p.headers["idempotency-key"] for p in posts] == ["turn-10:create"] * 2


async def test_a_key_reused_for_another_ticket_is_rejected(
    client: ZendeskClient, fake: FakeZendesk
) -> None:
    await a_ticket(client, "create-1")
    other = NewTicket("Something else", "Different.", ADA)
    with pytest.raises(HelpdeskRejected, match="IdempotentRequestError") as raised:
        await client.create_ticket(other, "create-1")
    assert raised.value.status_code == 400 and len(fake.tickets) == 1


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeZendesk, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = (TOKEN, BASIC, BASIC.removeprefix("Basic "), "revoked-token-123")
    retry = RetryPolicy(max_retries=1, backoff_base_s=0.001, backoff_max_s=0.01)
    good = zendesk_client(fake, timeout_s=TIMEOUT_S, retry=retry)
    bad = ZendeskClient(
        ZendeskConfig(base_url=fake.url, email=fake.email, api_token="revoked-token-123")
    )
    errors: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        try:
            fake.fail_next(500, times=2)
            fake.stall_next(STALL_S)
            for attempt in (good.get_ticket("1"), good.get_ticket("2"), bad.get_ticket("3")):
                try:
                    await attempt
                except Exception as error:  # each failure is inspected below
                    errors.append(error)
        finally:
            await good.aclose()
            await bad.aclose()
    assert [type(e) for e in errors] == [HelpdeskUnavailable, TicketNotFound, HelpdeskAuthError]
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "helpdesk call failed" in logged  # the retries were logged...
    for secret in secrets:  # ...without the credentials
        assert secret not in logged
        assert all(secret not in f"{e} {e!r}" for e in errors)
    assert TOKEN not in repr(ZendeskConfig(base_url=fake.url, email=fake.email, api_token=TOKEN))
