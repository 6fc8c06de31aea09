"""IntercomClient against the fake Intercom over real HTTP: the documented requests (API
2.14), and what each failure Intercom can answer becomes (typed errors, retries,
check-before-write)."""

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.support.fake_helpdesks.intercom import (
    ADMIN_ID,
    AGENT_ID,
    TEAMS,
    FakeIntercom,
    intercom_client,
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
from tools.ticketing.intercom import IntercomClient, IntercomConfig
from tools.ticketing.key_marker import marker

ADA = Customer("cust-ada", "ada@example.com", "Ada Lovelace", "en")
TIMEOUT_S = 0.3
STALL_S = 0.8
Json = dict[str, Any]


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    fake = FakeIntercom()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def client(fake: FakeIntercom, sleeps: Sleeps) -> AsyncIterator[IntercomClient]:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    opened = intercom_client(fake, sleep=sleeps, timeout_s=TIMEOUT_S, retry=retry)
    yield opened
    await opened.aclose()


@pytest.fixture
def conv(fake: FakeIntercom) -> Json:
    contact = fake.add_contact("ada@example.com", name="Ada")
    return fake.add_conversation(contact, "<p>My lamp has not arrived.</p>")


def reply_path(conv: Json) -> str:
    return f"/conversations/{conv['id']}/reply"


def parts_path(conv: Json) -> str:
    return f"/conversations/{conv['id']}/parts"


def assert_authenticated(call: Any, fake: FakeIntercom) -> None:
    assert call.headers["authorization"] == f"Bearer {fake.token}"
    assert call.headers["intercom-version"] == "2.14"


# --- the documented requests -------------------------------------------------------------
async def test_a_reply_is_an_admin_comment_posted_after_a_check(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    reply = await client.comment(conv["id"], "It left the depot today.", True, "turn-3:reply")
    (post,) = fake.calls("POST", reply_path(conv))
    assert_authenticated(post, fake)
    assert post.body == {
        "message_type": "comment",
        "type": "admin",
        "admin_id": ADMIN_ID,
        "body": "It left the depot today." + marker("turn-3:reply"),
    }
    methods = [(r.method, r.path) for r in fake.requests]
    assert methods == [("GET", f"/conversations/{conv['id']}"), ("POST", reply_path(conv))]
    stored = fake.parts_of(conv["id"])[-1]
    assert (reply.id, reply.body, reply.public) == (stored["id"], "It left the depot today.", True)
    assert reply.author_id == ADMIN_ID


async def test_a_note_is_the_same_call_with_message_type_note(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    note = await client.comment(conv["id"], "Carrier says Tuesday.", False, "note-1")
    (post,) = fake.calls("POST", reply_path(conv))
    assert post.body["message_type"] == "note"
    assert note.public is False
    comments = await client.list_comments(conv["id"])
    assert [(c.body, c.public) for c in comments] == [
        ("<p>My lamp has not arrived.</p>", True),
        ("Carrier says Tuesday.", False),
    ]


async def test_a_repeated_key_posts_nothing(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    first = await client.comment(conv["id"], "On it.", True, "reply-1")
    again = await client.comment(conv["id"], "On it.", True, "reply-1")
    assert again == first
    assert len(fake.calls("POST", reply_path(conv))) == 1


async def test_get_maps_state_tags_assignees_and_requester(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    conv.update(state="snoozed", admin_assignee_id=int(AGENT_ID), team_assignee_id=TEAMS[0])
    conv["title"] = "Lamp missing"
    conv["tags"]["tags"] = [{"type": "tag", "id": "9", "name": "priority_urgent"}]
    ticket = await client.get_ticket(conv["id"])
    (call,) = fake.calls("GET", f"/conversations/{conv['id']}")
    assert_authenticated(call, fake)
    assert ticket.status == TicketStatus.PENDING
    assert ticket.priority == TicketPriority.URGENT
    assert (ticket.assignee_id, ticket.group_id) == (AGENT_ID, TEAMS[0])
    assert ticket.requester_email == "ada@example.com"
    assert ticket.requester_id == conv["contacts"]["contacts"][0]["id"]
    assert ticket.subject == "Lamp missing"
    assert ticket.created_at == "2023-11-14T22:13:20Z"


async def test_without_a_title_the_subject_is_the_first_line(
    client: IntercomClient, conv: Json
) -> None:
    conv["priority"] = "priority"  # starred by a person, no priority tag
    ticket = await client.get_ticket(conv["id"])
    assert ticket.subject == "My lamp has not arrived."
    assert ticket.priority == TicketPriority.HIGH


async def test_status_changes_are_parts_and_are_not_repeated(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    await client.update_ticket(conv["id"], TicketUpdate(status=TicketStatus.SOLVED), "u-1")
    await client.update_ticket(conv["id"], TicketUpdate(status=TicketStatus.SOLVED), "u-1")
    before = int(time.time())
    pending = await client.update_ticket(
        conv["id"], TicketUpdate(status=TicketStatus.PENDING), "u-2"
    )
    reopened = await client.update_ticket(conv["id"], TicketUpdate(status=TicketStatus.OPEN), "u-3")
    close, snooze, reopen = (call.body for call in fake.calls("POST", parts_path(conv)))
    assert close == {"admin_id": ADMIN_ID, "message_type": "close", "type": "admin"}
    assert snooze["message_type"] == "snoozed" and snooze["admin_id"] == ADMIN_ID
    assert snooze["snoozed_until"] >= before + 86_400
    assert reopen == {"admin_id": ADMIN_ID, "message_type": "open"}
    assert (pending.status, reopened.status) == (TicketStatus.PENDING, TicketStatus.OPEN)


async def test_tags_are_attached_by_id_and_detached_by_delete(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    fake.tags["7"] = {"type": "tag", "id": "7", "name": "vip"}
    await client.update_ticket(conv["id"], TicketUpdate(add_tags=("vip", "refund")), "t-1")
    ticket = await client.update_ticket(conv["id"], TicketUpdate(remove_tags=("vip",)), "t-2")
    assert len(fake.calls("GET", "/tags")) == 1  # names → ids are cached
    (created,) = fake.calls("POST", "/tags")
    assert created.body == {"name": "refund"}
    refund_id = next(t["id"] for t in fake.tags.values() if t["name"] == "refund")
    attached = [c.body for c in fake.calls("POST", f"/conversations/{conv['id']}/tags")]
    assert attached == [{"id": "7", "admin_id": ADMIN_ID}, {"id": refund_id, "admin_id": ADMIN_ID}]
    (detached,) = fake.calls("DELETE", f"/conversations/{conv['id']}/tags/7")
    assert detached.body == {"admin_id": ADMIN_ID}
    assert ticket.tags == ("refund",)


async def test_priority_is_a_tag_never_the_unstable_api(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    assert client.supports_priority is False
    await client.update_ticket(conv["id"], TicketUpdate(priority=TicketPriority.LOW), "p-1")
    ticket = await client.update_ticket(
        conv["id"], TicketUpdate(priority=TicketPriority.URGENT), "p-2"
    )
    assert ticket.tags == ("priority_urgent",) and ticket.priority == TicketPriority.URGENT
    assert not fake.calls("PUT", f"/conversations/{conv['id']}")
    assert all(r.headers["intercom-version"] == "2.14" for r in fake.requests)


async def test_assignment_parts_name_the_admin_and_the_team(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    update = TicketUpdate(assignee_id=AGENT_ID, group_id=TEAMS[0])
    ticket = await client.update_ticket(conv["id"], update, "a-1")
    team, admin = (call.body for call in fake.calls("POST", parts_path(conv)))
    base = {"admin_id": ADMIN_ID, "message_type": "assignment"}
    assert team == {**base, "type": "team", "assignee_id": TEAMS[0]}
    assert admin == {**base, "type": "admin", "assignee_id": AGENT_ID}
    assert (ticket.assignee_id, ticket.group_id) == (AGENT_ID, TEAMS[0])


async def test_hand_off_notes_tags_reopens_and_routes_to_the_team(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    conv.update(state="closed", admin_assignee_id=int(ADMIN_ID))
    handoff = Handoff("angry customer", "Wants a refund.", TicketPriority.HIGH, TEAMS[1])
    await client.hand_off(conv["id"], handoff, "h-1")
    (note,) = fake.calls("POST", reply_path(conv))
    assert note.body["message_type"] == "note"
    assert note.body["body"] == handoff_note(handoff) + marker("h-1:note")
    parts = [c.body for c in fake.calls("POST", parts_path(conv))]
    assert parts[0] == {"admin_id": ADMIN_ID, "message_type": "open"}
    assert {"type": "team", "assignee_id": TEAMS[1]}.items() <= parts[1].items()
    assert {"type": "admin", "assignee_id": "0"}.items() <= parts[2].items()
    ticket = await client.get_ticket(conv["id"])
    assert (ticket.status, ticket.group_id, ticket.assignee_id) == (
        TicketStatus.OPEN,
        TEAMS[1],
        None,
    )
    assert {"bot_escalated", "priority_high"} <= set(ticket.tags)


async def test_hand_off_without_a_group_uses_the_configured_team(fake: FakeIntercom) -> None:
    contact = fake.add_contact("bob@example.com")
    conv = fake.add_conversation(contact)
    client = intercom_client(fake, handoff_team_id=TEAMS[0])
    try:
        await client.hand_off(conv["id"], Handoff("stuck", "Needs a person."), "h-2")
    finally:
        await client.aclose()
    assert fake.conversations[conv["id"]]["team_assignee_id"] == TEAMS[0]


async def test_create_finds_or_makes_the_contact_then_starts_and_titles(
    client: IntercomClient, fake: FakeIntercom
) -> None:
    new = NewTicket("Lamp missing", "It is two weeks late.", ADA, None, ("billing",))
    ticket = await client.create_ticket(new, "turn-1:create")
    (search,) = fake.calls("POST", "/contacts/search")
    assert search.body == {"query": {"field": "email", "operator": "=", "value": ADA.email}}
    (made,) = fake.calls("POST", "/contacts")
    assert made.body == {"role": "user", "email": ADA.email, "name": "Ada Lovelace"}
    contact_id = next(iter(fake.contacts))
    (start,) = fake.calls("POST", "/conversations")
    assert start.body == {
        "from": {"type": "user", "id": contact_id},
        "body": "It is two weeks late." + marker("turn-1:create"),
    }
    (title,) = fake.calls("PUT", f"/conversations/{ticket.id}")
    assert title.body == {"title": "Lamp missing"}
    assert (ticket.subject, ticket.tags, ticket.requester_id) == (
        "Lamp missing",
        ("billing",),
        contact_id,
    )


async def test_a_customer_s_conversations_come_from_a_contact_search(
    client: IntercomClient, fake: FakeIntercom
) -> None:
    contact = fake.add_contact("ada@example.com")
    older, newer = fake.add_conversation(contact), fake.add_conversation(contact)
    tickets = await client.list_customer_tickets(ADA)
    (search,) = fake.calls("POST", "/conversations/search")
    assert search.body == {
        "query": {"field": "contact_ids", "operator": "=", "value": contact["id"]},
        "pagination": {"per_page": 150},
    }
    assert [t.id for t in tickets] == [newer["id"], older["id"]]


async def test_a_customer_without_e_mail_is_matched_by_id_or_external_id(
    client: IntercomClient, fake: FakeIntercom
) -> None:
    contact = fake.add_contact(None, external_id="shop-42")
    conv = fake.add_conversation(contact)
    tickets = await client.list_customer_tickets(Customer("shop-42"))
    (search,) = fake.calls("POST", "/contacts/search")
    assert search.body["query"] == {
        "operator": "OR",
        "value": [
            {"field": "id", "operator": "=", "value": "shop-42"},
            {"field": "external_id", "operator": "=", "value": "shop-42"},
        ],
    }
    assert [t.id for t in tickets] == [conv["id"]]


# --- failures ----------------------------------------------------------------------------
async def test_a_wrong_token_is_an_auth_error_and_is_not_retried(fake: FakeIntercom) -> None:
    config = IntercomConfig(access_token="wrong-token-secret", admin_id=ADMIN_ID, base_url=fake.url)
    client = IntercomClient(config)
    try:
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket("1")
    finally:
        await client.aclose()
    assert len(fake.requests) == 1
    assert "Access Token Invalid" in str(raised.value)
    assert "wrong-token-secret" not in str(raised.value)


async def test_an_unknown_conversation_is_not_found(client: IntercomClient) -> None:
    with pytest.raises(TicketNotFound):
        await client.get_ticket("424242")
    with pytest.raises(TicketNotFound):
        await client.comment("424242", "hello?", True, "c-1")


@pytest.mark.parametrize("status", [409, 422])
async def test_a_refusal_carries_intercom_s_message(
    client: IntercomClient, fake: FakeIntercom, conv: Json, status: int
) -> None:
    refusal = {"type": "error.list", "errors": [{"code": "conflict", "message": "Admin is away"}]}
    fake.fail_next(status, body=refusal, method="POST", path=reply_path(conv))
    with pytest.raises(HelpdeskRejected) as raised:
        await client.comment(conv["id"], "Hi", True, "c-1")
    assert raised.value.status_code == status
    assert "Admin is away" in str(raised.value)
    assert len(fake.calls("POST", reply_path(conv))) == 1


async def test_a_rate_limit_waits_as_retry_after_says(
    client: IntercomClient, fake: FakeIntercom, sleeps: Sleeps, conv: Json
) -> None:
    fake.fail_next(429, retry_after="7", method="GET")
    ticket = await client.get_ticket(conv["id"])
    assert sleeps.delays == [7.0]
    assert ticket.id == conv["id"]


async def test_a_server_error_is_retried_then_the_reply_is_posted_once(
    client: IntercomClient, fake: FakeIntercom, sleeps: Sleeps, conv: Json
) -> None:
    fake.fail_next(500, times=2, method="POST", path=reply_path(conv))
    await client.comment(conv["id"], "Sorry for the wait.", True, "c-1")
    assert len(fake.calls("POST", reply_path(conv))) == 3
    assert len(sleeps.delays) == 2
    assert [p["body"] for p in fake.parts_of(conv["id"])] == ["Sorry for the wait." + marker("c-1")]


async def test_a_server_error_to_the_end_is_unavailable(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    fake.fail_next(503, times=3, method="GET")
    with pytest.raises(HelpdeskUnavailable) as raised:
        await client.get_ticket(conv["id"])
    assert "after 3 attempts" in str(raised.value)


async def test_a_timeout_is_retried(
    client: IntercomClient, fake: FakeIntercom, sleeps: Sleeps, conv: Json
) -> None:
    fake.stall_next(STALL_S, method="GET")
    ticket = await client.get_ticket(conv["id"])
    assert ticket.id == conv["id"] and len(sleeps.delays) == 1
    assert len(fake.calls("GET", f"/conversations/{conv['id']}")) == 2


async def test_a_malformed_answer_is_invalid(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    fake.malformed_next(method="GET")
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket(conv["id"])
    fake.fail_next(200, body=["not", "a", "conversation"], method="GET")
    with pytest.raises(HelpdeskResponseInvalid):
        await client.get_ticket(conv["id"])


async def test_a_reply_whose_answer_was_lost_is_not_posted_twice(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path=reply_path(conv))
    reply = await client.comment(conv["id"], "Refund sent.", True, "c-lost")
    assert len(fake.calls("POST", reply_path(conv))) == 1  # the retry found it first
    (part,) = fake.parts_of(conv["id"])
    assert (reply.id, reply.body) == (part["id"], "Refund sent.")


async def test_a_create_whose_answer_was_lost_makes_one_conversation(
    client: IntercomClient, fake: FakeIntercom
) -> None:
    fake.lose_answer_next(STALL_S, method="POST", path="/conversations")
    new = NewTicket("Lamp missing", "Two weeks late.", ADA)
    ticket = await client.create_ticket(new, "create-lost")
    assert list(fake.conversations) == [ticket.id]
    assert len(fake.calls("POST", "/conversations")) == 1


async def test_a_tag_removal_whose_answer_was_lost_is_not_repeated(
    client: IntercomClient, fake: FakeIntercom, conv: Json
) -> None:
    fake.tags["7"] = {"type": "tag", "id": "7", "name": "vip"}
    conv["tags"]["tags"] = [dict(fake.tags["7"])]
    tag_path = f"/conversations/{conv['id']}/tags/7"
    fake.lose_answer_next(STALL_S, method="DELETE", path=tag_path)
    ticket = await client.update_ticket(conv["id"], TicketUpdate(remove_tags=("vip",)), "t-1")
    assert len(fake.calls("DELETE", tag_path)) == 1  # a second DELETE would be a 404
    assert ticket.tags == ()


async def test_credentials_never_reach_logs_or_errors(
    fake: FakeIntercom, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "ic-very-secret-token-123"
    config = IntercomConfig(access_token=secret, admin_id=ADMIN_ID, base_url=fake.url)
    assert secret not in repr(config)
    client = IntercomClient(config, retry=RetryPolicy(2, 0.001, 0.002))
    fake.fail_next(500, method="GET")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(HelpdeskAuthError) as raised:
            await client.get_ticket("1")
        await client.aclose()
    assert caplog.records  # the retry was logged…
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert secret not in logged and secret not in str(raised.value)  # …without the token
