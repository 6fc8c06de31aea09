"""ChatwootClient against the fake Chatwoot over real HTTP: the documented requests, and
what each failure Chatwoot can answer becomes (typed errors, retries, check-before-write)."""

import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.fake_helpdesks.chatwoot import (
    ACCOUNT_ID,
    AGENT_ID,
    BOT_TOKEN,
    HANDOFF_TEAM_ID,
    INBOX_ID,
    TEAM_ID,
    TOKEN,
    FakeChatwoot,
    chatwoot_client,
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
from tools.ticketing.chatwoot import ChatwootClient, ChatwootConfig
from tools.ticketing.key_marker import digest, marker

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
ACCOUNT = f"/api/v1/accounts/{ACCOUNT_ID}"
TIMEOUT_S = 0.3
STALL_S = 0.8


@pytest.fixture
def fake() -> Iterator[FakeChatwoot]:
    fake = FakeChatwoot()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeChatwoot, sleeps: Sleeps) -> AsyncIterator[ChatwootClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = chatwoot_client(fake, sleep=sleeps, timeout_s=TIMEOUT_S, retry=retry)
    yield opened
    await opened.aclose()


def conversation(conversation_id: int | str, tail: str = "") -> str:
    return f"{ACCOUNT}/conversations/{conversation_id}{tail}"


def a_conversation(fake: FakeChatwoot, **fields: object) -> str:
    return str(fake.seed_conversation("ada@example.com", **fields)["id"])


# --- the documented requests -------------------------------------------------------------
async def test_create_finds_or_makes_the_contact_then_the_conversation(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    new = NewTicket("Where is my order?", "Two weeks late.", ADA, TicketPriority.HIGH, ("vip",))
    ticket = await client.create_ticket(new, "turn-7:create")
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"{ACCOUNT}/contacts/search"),
        ("POST", f"{ACCOUNT}/contacts"),
        ("GET", f"{ACCOUNT}/contacts/1/conversations"),
        ("POST", f"{ACCOUNT}/conversations"),
        ("GET", conversation(ticket.id, "/messages")),
        ("POST", conversation(ticket.id, "/messages")),
        ("GET", conversation(ticket.id, "/labels")),
        ("POST", conversation(ticket.id, "/labels")),
        ("POST", conversation(ticket.id, "/toggle_priority")),
        ("GET", conversation(ticket.id)),
    ]
    search, contact, _, create, _, note, _, labels, priority, _ = fake.requests
    assert all(r.headers["api_access_token"] == TOKEN for r in fake.requests)
    assert all("authorization" not in r.headers for r in fake.requests)
    assert search.query == {"q": "ada@example.com"}
    assert contact.body == {
        "inbox_id": INBOX_ID,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
    }
    assert create.body == {
        "inbox_id": INBOX_ID,
        "contact_id": 1,
        "additional_attributes": {
            "mail_subject": "Where is my order?",
            "deskhand_key": digest("turn-7:create"),
        },
    }
    assert note.body == {
        "content": "Two weeks late." + marker("turn-7:create:body"),
        "message_type": "outgoing",
        "private": True,  # never sent to the customer
    }
    assert labels.body == {"labels": ["vip"]}
    assert priority.body == {"priority": "high"}
    assert (ticket.subject, ticket.status, ticket.priority) == (
        "Where is my order?",
        TicketStatus.NEW,  # the inbox has the bot: Chatwoot starts it "pending"
        TicketPriority.HIGH,
    )
    assert (ticket.requester_email, ticket.requester_id) == ("ada@example.com", "1")
    assert ticket.url == f"{fake.url}/app/accounts/{ACCOUNT_ID}/conversations/{ticket.id}"


async def test_create_reuses_a_contact_with_that_exact_email(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    fake.seed_conversation("ada.other@example.com")  # matches the search, not the e-mail
    existing = fake.seed_conversation("ADA@example.com")["contact_id"]
    ticket = await client.create_ticket(NewTicket("Hi", "Body", ADA), "create-1")
    assert fake.calls("POST", f"{ACCOUNT}/contacts") == []
    assert ticket.requester_id == str(existing)


async def test_create_needs_a_known_contact(client: ChatwootClient, fake: FakeChatwoot) -> None:
    with pytest.raises(TicketingError, match="no contact 424242"):
        await client.create_ticket(NewTicket("Hi", "Body", Customer("424242")), "c-1")
    with pytest.raises(TicketingError, match="e-mail"):
        await client.create_ticket(NewTicket("Hi", "Body", Customer("cust-x")), "c-2")
    assert fake.conversations == {}


async def test_create_needs_an_inbox(fake: FakeChatwoot) -> None:
    client = chatwoot_client(fake, inbox_id=None)
    with pytest.raises(TicketingError, match="inbox_id"):
        await client.create_ticket(NewTicket("Hi", "Body", ADA), "create-1")
    await client.aclose()
    assert fake.requests == []


async def test_a_reply_is_an_outgoing_public_message_with_an_invisible_key(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    reply = await client.comment(ticket_id, "Your parcel left today.", True, "reply-1")
    (call,) = fake.calls("POST", conversation(ticket_id, "/messages"))
    assert call.headers["api_access_token"] == TOKEN
    assert call.body == {
        "content": "Your parcel left today." + marker("reply-1"),
        "message_type": "outgoing",
        "private": False,
    }
    assert (reply.body, reply.public, reply.author_id) == (
        "Your parcel left today.",
        True,
        "agent_bot:2",
    )


async def test_comments_skip_activity_and_name_the_contact_as_author(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    theirs = fake.customer_writes(int(ticket_id), "Where is it?")
    await client.update_ticket(ticket_id, TicketUpdate(status=TicketStatus.OPEN), "u-1")
    note = await client.comment(ticket_id, "Checking the carrier.", False, "note-1")
    comments = await client.list_comments(ticket_id)
    assert [(c.id, c.body, c.public, c.author_id) for c in comments] == [
        (str(theirs["id"]), "Where is it?", True, str(theirs["sender"]["id"])),
        (note.id, "Checking the carrier.", False, "agent_bot:2"),
    ]
    assert any(m["message_type"] == 2 for m in fake.messages[int(ticket_id)])


async def test_long_conversations_are_read_page_after_page(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    for n in range(45):
        fake.customer_writes(int(ticket_id), f"message {n}")
    comments = await client.list_comments(ticket_id)
    assert [c.body for c in comments] == [f"message {n}" for n in range(45)]
    pages = fake.calls("GET", conversation(ticket_id, "/messages"))
    befores = [p.query.get("before") for p in pages]
    assert len(pages) == 3 and befores[0] is None
    assert int(befores[1] or 0) > int(befores[2] or 0)  # walking back, 20 at a time


async def test_update_toggles_status_and_priority_then_team_then_agent(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    update = TicketUpdate(
        status=TicketStatus.PENDING,
        priority=TicketPriority.URGENT,
        assignee_id=str(AGENT_ID),
        group_id=str(TEAM_ID),
    )
    ticket = await client.update_ticket(ticket_id, update, "update-1")
    writes = [(r.path.rsplit("/", 1)[1], r.body) for r in fake.requests if r.method == "POST"]
    assert writes == [
        ("toggle_status", {"status": "snoozed"}),
        ("toggle_priority", {"priority": "urgent"}),
        ("assignments", {"team_id": TEAM_ID}),  # first: a team change drops a non-member
        ("assignments", {"assignee_id": AGENT_ID}),
    ]
    assert (ticket.status, ticket.priority) == (TicketStatus.PENDING, TicketPriority.URGENT)
    assert (ticket.assignee_id, ticket.group_id) == (str(AGENT_ID), str(TEAM_ID))


async def test_labels_are_merged_never_dropped(client: ChatwootClient, fake: FakeChatwoot) -> None:
    ticket_id = a_conversation(fake, labels=["vip", "billing", "from_agent"])
    update = TicketUpdate(add_tags=("refund", "vip"), remove_tags=("billing",))
    ticket = await client.update_ticket(ticket_id, update, "update-1")
    (post,) = fake.calls("POST", conversation(ticket_id, "/labels"))
    assert post.body == {"labels": ["vip", "from_agent", "refund"]}  # the whole set
    assert ticket.tags == ("vip", "from_agent", "refund")
    again = await client.update_ticket(ticket_id, TicketUpdate(add_tags=("refund",)), "u-2")
    assert len(fake.calls("POST", conversation(ticket_id, "/labels"))) == 1  # nothing to add
    assert again.tags == ticket.tags


async def test_hand_off_notes_labels_opens_then_routes(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake, labels=["vip"], assignee_id=AGENT_ID)
    handoff = Handoff("refund above the limit", "Wants 250 EUR back.", TicketPriority.URGENT)
    await client.hand_off(ticket_id, handoff, "handoff-1")
    writes = [(r.path.rsplit("/", 1)[1], r.body) for r in fake.requests if r.method == "POST"]
    assert writes == [
        (
            "messages",
            {
                "content": handoff_note(handoff) + marker("handoff-1:note"),
                "message_type": "outgoing",
                "private": True,
            },
        ),
        ("labels", {"labels": ["vip", "bot_escalated"]}),
        ("toggle_priority", {"priority": "urgent"}),
        ("toggle_status", {"status": "open"}),
        ("assignments", {"assignee_id": None}),  # no agent named: whoever held it lets go
        ("assignments", {"team_id": HANDOFF_TEAM_ID}),  # the configured team
    ]
    await client.hand_off(ticket_id, handoff, "handoff-1")  # a re-run
    notes = [m for m in fake.messages[int(ticket_id)] if m["private"]]
    assert len(notes) == 1
    ticket = await client.get_ticket(ticket_id)
    assert (ticket.status, ticket.group_id, ticket.assignee_id) == (
        TicketStatus.OPEN,
        str(HANDOFF_TEAM_ID),
        None,
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "read_back"),
    [
        (TicketStatus.NEW, "pending", TicketStatus.NEW),
        (TicketStatus.OPEN, "open", TicketStatus.OPEN),
        (TicketStatus.PENDING, "snoozed", TicketStatus.PENDING),
        (TicketStatus.SOLVED, "resolved", TicketStatus.SOLVED),
        (TicketStatus.CLOSED, "resolved", TicketStatus.SOLVED),
    ],
)
async def test_statuses_map_both_ways(
    client: ChatwootClient,
    fake: FakeChatwoot,
    ours: TicketStatus,
    theirs: str,
    read_back: TicketStatus,
) -> None:
    ticket_id = a_conversation(fake, status="open" if theirs == "pending" else "pending")
    ticket = await client.update_ticket(ticket_id, TicketUpdate(status=ours), "u")
    (call,) = fake.calls("POST", conversation(ticket_id, "/toggle_status"))
    assert call.body == {"status": theirs}
    assert ticket.status == read_back


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (TicketPriority.LOW, "low"),
        (TicketPriority.NORMAL, "medium"),
        (TicketPriority.HIGH, "high"),
        (TicketPriority.URGENT, "urgent"),
    ],
)
async def test_priorities_map_both_ways(
    client: ChatwootClient, fake: FakeChatwoot, ours: TicketPriority, theirs: str
) -> None:
    ticket_id = a_conversation(fake)
    ticket = await client.update_ticket(ticket_id, TicketUpdate(priority=ours), "u")
    (call,) = fake.calls("POST", conversation(ticket_id, "/toggle_priority"))
    assert call.body == {"priority": theirs}
    assert ticket.priority == ours


async def test_a_customers_conversations_newest_first_by_email_or_contact_id(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    older = fake.seed_conversation("ada@example.com")
    newer = fake.seed_conversation("ada@example.com")
    fake.seed_conversation("bob@example.com")
    found = await client.list_customer_tickets(ADA)
    assert [t.id for t in found] == [str(newer["id"]), str(older["id"])]
    search = fake.calls("GET", f"{ACCOUNT}/contacts/search")[0]
    assert search.query == {"q": "ada@example.com"}
    by_id = await client.list_customer_tickets(Customer(str(older["contact_id"])), limit=1)
    assert [t.id for t in by_id] == [str(newer["id"])]
    assert await client.list_customer_tickets(Customer("x", "nobody@example.com")) == []
    assert await client.list_customer_tickets(Customer("424242")) == []  # no such contact


async def test_ids_chatwoot_cannot_have_never_reach_a_request(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    for bad in ("abc", "1/../../contacts", ""):
        with pytest.raises(TicketNotFound):
            await client.get_ticket(bad)
    with pytest.raises(TicketingError, match="team id"):
        await client.update_ticket(a_conversation(fake), TicketUpdate(group_id="billing"), "u")
    assert fake.requests == []


# --- failures ------------------------------------------------------------------------------
async def test_refused_credentials_are_an_auth_error_not_retried(fake: FakeChatwoot) -> None:
    client = chatwoot_client(fake, token="wrong-token")
    with pytest.raises(HelpdeskAuthError, match="Invalid Access Token"):
        await client.get_ticket("1")
    await client.aclose()
    assert len(fake.requests) == 1


async def test_an_agent_bot_token_cannot_read_so_cannot_check_before_writing(
    fake: FakeChatwoot,
) -> None:
    ticket_id = a_conversation(fake)
    client = chatwoot_client(fake, token=BOT_TOKEN)
    assert (await client.get_ticket(ticket_id)).id == ticket_id  # a bot may read this one
    with pytest.raises(HelpdeskAuthError, match="not authorized for bots"):
        await client.comment(ticket_id, "Hello", True, "reply-1")
    await client.aclose()
    assert fake.messages[int(ticket_id)] == []  # refused before anything was posted


async def test_an_unknown_conversation_is_not_found(client: ChatwootClient) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("424242")
    with pytest.raises(TicketNotFound):
        await client.comment("424242", "Hello?", True, "c-1")


@pytest.mark.parametrize("status", [409, 422])
async def test_a_refusal_is_rejected_with_chatwoots_words(
    client: ChatwootClient, fake: FakeChatwoot, status: int
) -> None:
    ticket_id = a_conversation(fake)
    words = {"message": "Conversation is locked", "attributes": ["status"]}
    fake.fail_next(status, body=words, method="POST")
    with pytest.raises(HelpdeskRejected) as caught:
        await client.update_ticket(ticket_id, TicketUpdate(status=TicketStatus.OPEN), "u")
    assert caught.value.status_code == status
    assert "Conversation is locked" in str(caught.value)
    assert len(fake.calls("POST", conversation(ticket_id, "/toggle_status"))) == 1


async def test_rate_limit_waits_as_retry_after_says(
    client: ChatwootClient, fake: FakeChatwoot, sleeps: Sleeps
) -> None:
    ticket_id = a_conversation(fake)
    fake.fail_next(429, retry_after="4")
    assert (await client.get_ticket(ticket_id)).id == ticket_id
    assert sleeps.delays == [4.0]


async def test_server_errors_are_retried_until_an_answer(
    client: ChatwootClient, fake: FakeChatwoot, sleeps: Sleeps
) -> None:
    ticket_id = a_conversation(fake)
    fake.fail_next(500, times=2)
    assert (await client.get_ticket(ticket_id)).id == ticket_id
    assert len(fake.requests) == 3 and len(sleeps.delays) == 2


async def test_server_errors_to_the_end_are_unavailable(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    fake.fail_next(500, times=3)
    with pytest.raises(HelpdeskUnavailable, match="after 3 attempts"):
        await client.get_ticket("1")


async def test_a_timeout_is_retried(client: ChatwootClient, fake: FakeChatwoot) -> None:
    ticket_id = a_conversation(fake)
    fake.stall_next(STALL_S)
    assert (await client.get_ticket(ticket_id)).id == ticket_id
    assert len(fake.requests) == 2


async def test_a_body_that_is_not_json_is_invalid(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    fake.malformed_next()
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket("1")


async def test_json_of_the_wrong_shape_is_invalid(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    fake.fail_next(200, body={"payload": {"not": "a list"}})
    with pytest.raises(HelpdeskResponseInvalid):
        await client.list_comments(ticket_id)
    fake.fail_next(200, body={"id": 1, "status": None})
    with pytest.raises(HelpdeskResponseInvalid, match="status"):
        await client.get_ticket(ticket_id)


# --- check-before-write ------------------------------------------------------------------
async def test_a_reply_whose_answer_was_lost_is_not_posted_twice(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    path = conversation(ticket_id, "/messages")
    fake.lose_answer_next(STALL_S, method="POST", path=path)
    reply = await client.comment(ticket_id, "Your parcel left.", True, "reply-1")
    (stored,) = fake.messages[int(ticket_id)]
    assert reply.id == str(stored["id"])
    assert len(fake.calls("POST", path)) == 1


async def test_a_repeated_key_is_answered_from_the_conversation(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    ticket_id = a_conversation(fake)
    first = await client.comment(ticket_id, "Same words.", True, "reply-1")
    fake.customer_writes(int(ticket_id), "ok")
    again = await client.comment(ticket_id, "Same words.", True, "reply-1")
    other = await client.comment(ticket_id, "Same words.", True, "reply-2")
    assert again.id == first.id and other.id != first.id
    assert len(fake.calls("POST", conversation(ticket_id, "/messages"))) == 2


async def test_a_create_whose_answer_was_lost_opens_one_conversation(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path=f"{ACCOUNT}/conversations")
    ticket = await client.create_ticket(NewTicket("Hi", "Body", ADA), "create-lost")
    assert list(fake.conversations) == [int(ticket.id)]
    again = await client.create_ticket(NewTicket("Hi", "Body", ADA), "create-lost")
    assert again.id == ticket.id and len(fake.messages[int(ticket.id)]) == 1


async def test_a_contact_whose_answer_was_lost_is_made_once(
    client: ChatwootClient, fake: FakeChatwoot
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path=f"{ACCOUNT}/contacts")
    ticket = await client.create_ticket(NewTicket("Hi", "Body", ADA), "create-1")
    assert len(fake.contacts) == 1 and ticket.requester_email == "ada@example.com"


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeChatwoot, caplog: pytest.LogCaptureFixture
) -> None:
    config = ChatwootConfig(base_url=fake.url, account_id=ACCOUNT_ID, access_token=TOKEN)
    assert TOKEN not in repr(config)
    errors: list[Exception] = []
    with caplog.at_level(logging.DEBUG):
        client = chatwoot_client(fake)
        fake.fail_next(500, times=3)
        with pytest.raises(HelpdeskUnavailable) as unavailable:
            await client.get_ticket("1")
        errors.append(unavailable.value)
        await client.aclose()
        refused = chatwoot_client(fake, token=TOKEN + "-old")
        with pytest.raises(HelpdeskAuthError) as auth:
            await refused.get_ticket("1")
        errors.append(auth.value)
        await refused.aclose()
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "retrying" in logged  # the retries were logged, without the secret
    assert TOKEN not in logged
    assert all(TOKEN not in str(error) for error in errors)
