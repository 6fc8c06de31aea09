"""FreshdeskClient against the fake Freshdesk over real HTTP: the documented requests, and
what each failure Freshdesk can answer becomes (typed errors, retries, check-before-write)."""

import base64
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.fake_helpdesks.freshdesk import (
    AGENT_ID,
    API_KEY,
    GROUP_ID,
    HUMAN_GROUP_ID,
    FakeFreshdesk,
    freshdesk_client,
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
    Ticket,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.freshdesk import FreshdeskClient, FreshdeskConfig
from tools.ticketing.key_marker import marker

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
BASIC = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
TIMEOUT_S = 0.3
STALL_S = 0.8


@pytest.fixture
def fake() -> Iterator[FakeFreshdesk]:
    fake = FakeFreshdesk()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeFreshdesk, sleeps: Sleeps) -> AsyncIterator[FreshdeskClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = freshdesk_client(fake, sleep=sleeps, timeout_s=TIMEOUT_S, retry=retry)
    yield opened
    await opened.aclose()


async def a_ticket(client: FreshdeskClient, key: str = "create-1") -> Ticket:
    new = NewTicket(
        "Where is my order?", "It is two weeks late.", ADA, TicketPriority.HIGH, ("billing",)
    )
    return await client.create_ticket(new, key)


def conversations_path(ticket_id: str) -> str:
    return f"/api/v2/tickets/{ticket_id}/conversations"


# --- the documented requests -------------------------------------------------------------
async def test_create_looks_for_the_key_then_posts_the_ticket(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    fake.seed_ticket("Older question", "ada@example.com")
    ticket = await a_ticket(client, "turn-7:create")
    (look,) = fake.calls("GET", "/api/v2/tickets")  # the check before the write
    assert look.query == {
        "email": "ada@example.com",
        "order_by": "created_at",
        "order_type": "desc",
        "per_page": "100",
        "include": "description",
    }
    (call,) = fake.calls("POST", "/api/v2/tickets")
    assert call.headers["authorization"] == BASIC
    assert call.body == {
        "subject": "Where is my order?",
        "description": f"<p>It is two weeks late.{marker('turn-7:create')}</p>",
        "status": 2,
        "priority": 3,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "tags": ["billing"],
    }
    assert (ticket.status, ticket.priority, ticket.tags) == (
        TicketStatus.OPEN,
        TicketPriority.HIGH,
        ("billing",),
    )
    assert ticket.requester_email == "ada@example.com"
    assert ticket.url == f"{fake.url}/a/tickets/{ticket.id}"


async def test_a_customer_known_by_contact_id_only_is_the_requester_id(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    contact = fake.seed_ticket("Earlier", "ada@example.com")["requester_id"]
    by_id = Customer(str(contact), None, "Ada")
    await client.create_ticket(NewTicket("Hello", "Body", by_id), "create-by-id")
    (call,) = fake.calls("POST", "/api/v2/tickets")
    assert call.body["requester_id"] == contact and "email" not in call.body
    assert "name" not in call.body  # a name goes with an e-mail (a new contact) only


async def test_a_customer_with_neither_email_nor_contact_id_cannot_open_a_ticket(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    with pytest.raises(TicketingError, match="e-mail or contact id"):
        await client.create_ticket(NewTicket("Hi", "Body", Customer("cust-x")), "c-1")
    assert fake.requests == []


async def test_get_includes_the_requester(client: FreshdeskClient, fake: FakeFreshdesk) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com", status=3, priority=4, tags=["vip"])
    fetched = await client.get_ticket(str(seeded["id"]))
    (call,) = fake.calls("GET", f"/api/v2/tickets/{seeded['id']}")
    assert call.query == {"include": "requester"}
    assert call.headers["authorization"] == BASIC
    assert (fetched.status, fetched.priority) == (TicketStatus.PENDING, TicketPriority.URGENT)
    assert (fetched.requester_email, fetched.tags) == ("ada@example.com", ("vip",))


async def test_a_reply_is_escaped_html_with_an_invisible_key(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    ticket = await a_ticket(client)
    body = "Hello <Ada>,\nyour parcel left today.\n\nRegards"
    reply = await client.comment(ticket.id, body, True, "reply-1")
    look = fake.calls("GET", conversations_path(ticket.id))[0]
    assert look.query == {"page": "1", "per_page": "100"}
    (call,) = fake.calls("POST", f"/api/v2/tickets/{ticket.id}/reply")
    assert call.headers["authorization"] == BASIC
    assert call.body == {
        "body": "<p>Hello &lt;Ada&gt;,<br>your parcel left today.</p>"
        f"<p>Regards{marker('reply-1')}</p>"
    }
    assert reply.public and reply.body == "Hello <Ada>,\nyour parcel left today.\nRegards"


async def test_a_note_goes_to_notes_marked_private(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    ticket = await a_ticket(client)
    note = await client.comment(ticket.id, "Carrier confirmed.", False, "note-1")
    (call,) = fake.calls("POST", f"/api/v2/tickets/{ticket.id}/notes")
    assert call.body == {"body": f"<p>Carrier confirmed.{marker('note-1')}</p>", "private": True}
    assert (note.body, note.public) == ("Carrier confirmed.", False)


async def test_comments_are_the_description_then_conversations_oldest_first(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    ticket = await a_ticket(client)
    ours = await client.comment(ticket.id, "On it.", True, "reply-1")
    theirs = fake.customer_writes(int(ticket.id), "Thanks!")
    comments = await client.list_comments(ticket.id)
    assert [(c.id, c.body, c.public) for c in comments] == [
        (f"{ticket.id}:description", "It is two weeks late.", True),
        (ours.id, "On it.", True),
        (str(theirs["id"]), "Thanks!", True),
    ]
    assert comments[0].author_id == comments[2].author_id == ticket.requester_id


async def test_update_puts_the_named_fields_with_the_merged_tags(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com", tags=["vip", "billing"])
    update = TicketUpdate(
        status=TicketStatus.PENDING,
        priority=TicketPriority.URGENT,
        add_tags=("refund", "vip"),
        remove_tags=("billing",),
        assignee_id=str(AGENT_ID),
        group_id=str(GROUP_ID),
    )
    answered = await client.update_ticket(str(seeded["id"]), update, "update-1")
    (call,) = fake.calls("PUT", f"/api/v2/tickets/{seeded['id']}")
    assert call.headers["authorization"] == BASIC
    assert call.body == {
        "status": 3,
        "priority": 4,
        "tags": ["vip", "refund"],  # the whole set: a PUT replaces Freshdesk's tags
        "responder_id": AGENT_ID,
        "group_id": GROUP_ID,
    }
    assert answered.tags == ("vip", "refund") and answered.requester_email == "ada@example.com"


async def test_an_update_with_nothing_to_change_sends_no_put(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com", tags=["vip"])
    ticket = await client.update_ticket(str(seeded["id"]), TicketUpdate(add_tags=("vip",)), "u")
    assert fake.calls("PUT", f"/api/v2/tickets/{seeded['id']}") == []
    assert ticket.tags == ("vip",)


async def test_a_customers_tickets_are_listed_newest_first_by_email_or_contact_id(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    older = fake.seed_ticket("First", "ada@example.com")
    newer = fake.seed_ticket("Second", "ada@example.com")
    fake.seed_ticket("Not Ada's", "bob@example.com")
    found = await client.list_customer_tickets(ADA, limit=5)
    assert [t.id for t in found] == [str(newer["id"]), str(older["id"])]
    (call,) = fake.calls("GET", "/api/v2/tickets")
    assert call.query == {
        "email": "ada@example.com",
        "order_by": "created_at",
        "order_type": "desc",
        "per_page": "5",
    }
    by_id = Customer(str(older["requester_id"]))
    assert len(await client.list_customer_tickets(by_id)) == 2
    assert fake.calls("GET", "/api/v2/tickets")[-1].query["requester_id"] == by_id.id


async def test_a_customer_freshdesk_does_not_know_has_no_tickets(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    assert await client.list_customer_tickets(Customer("x", "nobody@example.com")) == []
    assert await client.list_customer_tickets(Customer("not-a-number")) == []
    assert len(fake.calls("GET", "/api/v2/tickets")) == 1  # answered 400: no such contact


async def test_hand_off_notes_then_reopens_routes_and_unassigns(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com", status=4, responder_id=AGENT_ID)
    ticket_id = str(seeded["id"])
    handoff = Handoff("refund above the limit", "Wants 250 EUR back.", TicketPriority.URGENT)
    await client.hand_off(ticket_id, handoff, "handoff-1")
    await client.hand_off(ticket_id, handoff, "handoff-1")  # a re-run: no second note
    notes = fake.calls("POST", f"/api/v2/tickets/{ticket_id}/notes")
    assert len(notes) == 1 and notes[0].body["private"] is True
    assert handoff_note(handoff).split("\n")[0] in notes[0].body["body"]
    put = fake.calls("PUT", f"/api/v2/tickets/{ticket_id}")[0]
    assert put.body == {
        "status": 2,
        "priority": 4,
        "tags": ["bot_escalated"],
        "group_id": HUMAN_GROUP_ID,  # the configured group: the hand-off named none
        "responder_id": None,
    }
    fetched = await client.get_ticket(ticket_id)
    assert (fetched.status, fetched.group_id, fetched.assignee_id) == (
        TicketStatus.OPEN,
        str(HUMAN_GROUP_ID),
        None,
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "read_back"),
    [
        (TicketStatus.NEW, 2, TicketStatus.OPEN),
        (TicketStatus.OPEN, 2, TicketStatus.OPEN),
        (TicketStatus.PENDING, 3, TicketStatus.PENDING),
        (TicketStatus.SOLVED, 4, TicketStatus.SOLVED),
        (TicketStatus.CLOSED, 5, TicketStatus.CLOSED),
    ],
)
async def test_statuses_map_both_ways(
    client: FreshdeskClient,
    fake: FakeFreshdesk,
    ours: TicketStatus,
    theirs: int,
    read_back: TicketStatus,
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com", status=5 if theirs == 2 else 2)
    ticket = await client.update_ticket(str(seeded["id"]), TicketUpdate(status=ours), "u")
    assert fake.calls("PUT", f"/api/v2/tickets/{seeded['id']}")[0].body == {"status": theirs}
    assert ticket.status == read_back


async def test_a_custom_status_reads_as_open_and_priorities_map_both_ways(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    custom = fake.seed_ticket("Hi", "ada@example.com", status=6, priority=2)
    fetched = await client.get_ticket(str(custom["id"]))
    assert (fetched.status, fetched.priority) == (TicketStatus.OPEN, TicketPriority.NORMAL)
    for priority, number in ((TicketPriority.LOW, 1), (TicketPriority.URGENT, 4)):
        ticket = await client.update_ticket(str(custom["id"]), TicketUpdate(priority=priority), "")
        assert fake.calls("PUT", f"/api/v2/tickets/{custom['id']}")[-1].body == {"priority": number}
        assert ticket.priority == priority


async def test_ids_freshdesk_cannot_have_never_reach_a_request(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    for bad in ("abc", "1/../../admin", "", "١٢"):
        with pytest.raises(TicketNotFound):
            await client.get_ticket(bad)
    assert fake.requests == []


# --- failures ------------------------------------------------------------------------------
async def test_refused_credentials_are_an_auth_error_not_retried(fake: FakeFreshdesk) -> None:
    client = freshdesk_client(fake, api_key="wrong-key")
    with pytest.raises(HelpdeskAuthError) as caught:
        await client.get_ticket("1")
    await client.aclose()
    assert len(fake.requests) == 1
    assert "invalid_credentials" in str(caught.value)


async def test_an_unknown_ticket_is_not_found(client: FreshdeskClient) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("424242")


@pytest.mark.parametrize("status", [409, 422])
async def test_a_refusal_is_rejected_with_freshdesks_words(
    client: FreshdeskClient, fake: FakeFreshdesk, status: int
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    words = {"description": "Conflict", "errors": [{"code": "inconsistent_state"}]}
    fake.fail_next(status, body=words, method="PUT")
    with pytest.raises(HelpdeskRejected) as caught:
        await client.update_ticket(str(seeded["id"]), TicketUpdate(add_tags=("x",)), "u")
    assert caught.value.status_code == status
    assert "inconsistent_state" in str(caught.value)
    assert len(fake.calls("PUT", f"/api/v2/tickets/{seeded['id']}")) == 1  # not retried


async def test_a_validation_error_names_the_field(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    with pytest.raises(HelpdeskRejected) as caught:
        await client.update_ticket(str(seeded["id"]), TicketUpdate(assignee_id="999"), "u")
    assert caught.value.status_code == 400
    assert "There is no agent matching the given responder_id" in str(caught.value)


async def test_rate_limit_waits_as_retry_after_says(
    client: FreshdeskClient, fake: FakeFreshdesk, sleeps: Sleeps
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    fake.fail_next(429, retry_after="7")
    ticket = await client.get_ticket(str(seeded["id"]))
    assert sleeps.delays == [7.0]
    assert ticket.id == str(seeded["id"])


async def test_server_errors_are_retried_until_an_answer(
    client: FreshdeskClient, fake: FakeFreshdesk, sleeps: Sleeps
) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    fake.fail_next(500, times=2)
    assert (await client.get_ticket(str(seeded["id"]))).subject == "Hi"
    assert len(fake.requests) == 3 and len(sleeps.delays) == 2


async def test_server_errors_to_the_end_are_unavailable(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    fake.fail_next(500, times=3)
    with pytest.raises(HelpdeskUnavailable, match="after 3 attempts"):
        await client.get_ticket("1")


async def test_a_timeout_is_retried(client: FreshdeskClient, fake: FakeFreshdesk) -> None:
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    fake.stall_next(STALL_S)
    assert (await client.get_ticket(str(seeded["id"]))).subject == "Hi"
    assert len(fake.requests) == 2


async def test_a_body_that_is_not_json_is_invalid(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    fake.malformed_next()
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket("1")


async def test_json_of_the_wrong_shape_is_invalid(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    fake.fail_next(200, body=[{"id": 1}])
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket("1")
    fake.fail_next(200, body={"id": 1, "subject": "Hi", "status": "open"})
    with pytest.raises(HelpdeskResponseInvalid, match="status"):
        await client.get_ticket("1")


# --- check-before-write ------------------------------------------------------------------
async def test_a_reply_whose_answer_was_lost_is_not_posted_twice(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    ticket = await a_ticket(client)
    path = f"/api/v2/tickets/{ticket.id}/reply"
    fake.lose_answer_next(STALL_S, method="POST", path=path)
    reply = await client.comment(ticket.id, "Your parcel left.", True, "reply-1")
    stored = [c for c in fake.conversations[int(ticket.id)] if c["source"] == 0]
    assert len(stored) == 1 and reply.id == str(stored[0]["id"])
    assert len(fake.calls("POST", path)) == 1


async def test_a_lost_reply_is_found_by_its_words_if_the_marker_was_stripped(
    fake: FakeFreshdesk,
) -> None:
    fake.strip_invisible = True  # a sanitiser that drops zero-width characters
    client = freshdesk_client(fake, timeout_s=TIMEOUT_S)
    seeded = fake.seed_ticket("Hi", "ada@example.com")
    ticket_id = str(seeded["id"])
    await client.comment(ticket_id, "Your parcel left.", True, "reply-0")  # an earlier one
    path = f"/api/v2/tickets/{ticket_id}/reply"
    fake.lose_answer_next(STALL_S, method="POST", path=path)
    await client.comment(ticket_id, "Your parcel left.", True, "reply-1")
    await client.aclose()
    assert len(fake.conversations[int(ticket_id)]) == 2  # the earlier one and ours, once
    assert len(fake.calls("POST", path)) == 2


async def test_a_hand_off_whose_note_answer_was_lost_notes_once(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    ticket = await a_ticket(client)
    path = f"/api/v2/tickets/{ticket.id}/notes"
    fake.lose_answer_next(STALL_S, method="POST", path=path)
    await client.hand_off(ticket.id, Handoff("angry", "Wants a manager."), "handoff-1")
    assert len(fake.conversations[int(ticket.id)]) == 1
    assert "bot_escalated" in fake.tickets[int(ticket.id)]["tags"]


async def test_a_create_whose_answer_was_lost_creates_one_ticket(
    client: FreshdeskClient, fake: FakeFreshdesk
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path="/api/v2/tickets")
    ticket = await a_ticket(client, "create-lost")
    assert list(fake.tickets) == [int(ticket.id)]
    assert len(fake.calls("POST", "/api/v2/tickets")) == 1


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeFreshdesk, caplog: pytest.LogCaptureFixture
) -> None:
    config = FreshdeskConfig(base_url=fake.url, api_key=API_KEY)
    assert API_KEY not in repr(config)
    errors: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        client = freshdesk_client(fake)
        fake.fail_next(500, times=3)
        with pytest.raises(HelpdeskUnavailable) as unavailable:
            await client.get_ticket("1")
        errors.append(unavailable.value)
        await client.aclose()
        refused = freshdesk_client(fake, api_key=API_KEY + "-old")
        with pytest.raises(HelpdeskAuthError) as auth:
            await refused.get_ticket("1")
        errors.append(auth.value)
        await refused.aclose()
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "retrying" in logged  # the retries were logged, without the secret
    secrets = (API_KEY, BASIC.split()[1], base64.b64encode(f"{API_KEY}-old:X".encode()).decode())
    for secret in secrets:
        assert secret not in logged
        assert all(secret not in str(error) for error in errors)
