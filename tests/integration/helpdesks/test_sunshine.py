"""SunshineClient against the fake Sunshine Conversations over real HTTP: the documented
requests (REST v2, Basic auth), and what each failure becomes (retries, check-before-write,
DeliveryError)."""

import base64
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from agent.config.botfile import BotConfig
from agent.config.tenants import TenantRegistry
from agent.delivery import APPROVAL, HANDOFF, REPLY
from agent.runtime.models import OutboxItem
from agent.sunshine_delivery import MAX_SUMMARY_CHARS, SunshineDelivery
from tests.support.fake_helpdesks.sunshine import AGENTS, BOT, KEY_ID, KEY_SECRET, FakeSunshine
from tests.support.sleeps import Sleeps
from tools.errors import DeliveryError
from tools.messaging.sunshine import MAX_METADATA_TEXT, SunshineClient, flat_metadata
from tools.retry import RetryPolicy

TIMEOUT_S = 0.3
STALL_S = 0.8


@pytest.fixture
def fake() -> Iterator[FakeSunshine]:
    fake = FakeSunshine()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client_for(
    fake: FakeSunshine, http: httpx.AsyncClient, sleeps: Sleeps, secret: str = KEY_SECRET
) -> SunshineClient:
    retry = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=30.0)
    return SunshineClient(
        http, fake.url, fake.app_id, KEY_ID, secret, TIMEOUT_S, retry=retry, sleep=sleeps
    )


@pytest.fixture
def client(fake: FakeSunshine, http: httpx.AsyncClient, sleeps: Sleeps) -> SunshineClient:
    return client_for(fake, http, sleeps)


@pytest.fixture
def conv_id(fake: FakeSunshine) -> str:
    return str(fake.add_conversation()["id"])


async def test_a_reply_is_a_business_message_with_the_ai_subtype_and_the_key(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    await client.reply(conv_id, "Refunds take 5–7 business days.", "m-1.reply")
    (call,) = fake.calls("POST", fake.path(conv_id, "/messages"))
    basic = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert call.headers["authorization"] == f"Basic {basic}"
    assert call.body == {
        "author": {"type": "business", "subtypes": ["AI"]},
        "content": {"type": "text", "text": "Refunds take 5–7 business days."},
        "metadata": {"deskhand_key": "m-1.reply"},
    }
    assert fake.business_texts(conv_id) == ["Refunds take 5–7 business days."]


async def test_without_the_disclaimer_the_author_has_no_subtype(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    await client.reply(conv_id, "Hello", "k", ai_disclaimer=False)
    (call,) = fake.calls("POST", fake.path(conv_id, "/messages"))
    assert call.body["author"] == {"type": "business"}


async def test_a_first_attempt_sends_no_read_before_it(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    await client.reply(conv_id, "Hello", "k")
    assert not fake.calls("GET", fake.path(conv_id, "/messages"))


async def test_429_is_retried_after_retry_after(
    fake: FakeSunshine, client: SunshineClient, conv_id: str, sleeps: Sleeps
) -> None:
    fake.fail_next(429, retry_after="2", method="POST")
    await client.reply(conv_id, "Hello", "k")
    assert sleeps.delays == [2.0]
    assert fake.business_texts(conv_id) == ["Hello"]


async def test_5xx_is_retried_and_the_retry_checks_first(
    fake: FakeSunshine, client: SunshineClient, conv_id: str, sleeps: Sleeps
) -> None:
    fake.fail_next(503, method="POST")
    await client.reply(conv_id, "Hello", "k")
    assert len(sleeps.delays) == 1
    assert len(fake.calls("GET", fake.path(conv_id, "/messages"))) == 1
    assert fake.business_texts(conv_id) == ["Hello"]


async def test_a_lost_answer_is_not_sent_twice(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    fake.lose_answer_next(STALL_S, method="POST")
    await client.reply(conv_id, "Hello", "k")
    assert len(fake.calls("POST", fake.path(conv_id, "/messages"))) == 1
    assert fake.business_texts(conv_id) == ["Hello"]


async def test_another_reply_with_another_key_is_sent(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    await client.reply(conv_id, "One", "k1")
    fake.fail_next(500, method="POST")
    await client.reply(conv_id, "Two", "k2")
    assert fake.business_texts(conv_id) == ["One", "Two"]


async def test_retries_run_out_as_a_delivery_error(
    fake: FakeSunshine, client: SunshineClient, conv_id: str, sleeps: Sleeps
) -> None:
    fake.fail_next(502, times=3, method="POST")
    with pytest.raises(DeliveryError, match="after 3 attempts"):
        await client.reply(conv_id, "Hello", "k")
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 423])
async def test_a_refusal_is_not_retried(
    fake: FakeSunshine, client: SunshineClient, conv_id: str, sleeps: Sleeps, status: int
) -> None:
    fake.fail_next(status, method="POST")
    with pytest.raises(DeliveryError, match=str(status)):
        await client.reply(conv_id, "Hello", "k")
    assert sleeps.delays == []


async def test_wrong_credentials_are_a_delivery_error_that_names_no_secret(
    fake: FakeSunshine, http: httpx.AsyncClient, sleeps: Sleeps, conv_id: str
) -> None:
    client = client_for(fake, http, sleeps, secret="wrong-secret-value")
    with pytest.raises(DeliveryError, match="401") as caught:
        await client.reply(conv_id, "Hello", "k")
    assert "wrong-secret-value" not in str(caught.value)


async def test_an_unknown_conversation_is_a_delivery_error(client: SunshineClient) -> None:
    with pytest.raises(DeliveryError, match="404"):
        await client.reply("nope", "Hello", "k")


async def test_a_non_json_answer_is_a_delivery_error(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    fake.malformed_next(method="GET")
    with pytest.raises(DeliveryError, match="not JSON"):
        await client.active_integration(conv_id)


async def test_pass_control_to_next_hands_the_conversation_to_the_agents(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    metadata = {"reason": "customer_request", "priority": "high", "summary": "Refund"}
    await client.pass_control(conv_id, "next", metadata, "m-1:handoff")
    assert fake.conversations[conv_id]["activeSwitchboardIntegration"] == AGENTS
    (call,) = fake.calls("POST", fake.path(conv_id, "/passControl"))
    assert call.body == {
        "switchboardIntegration": "next",
        "metadata": {**metadata, "deskhand_key": "m-1:handoff"},
    }


async def test_pass_control_by_name(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    await client.pass_control(conv_id, "zd-agentWorkspace", {}, "k")
    assert await client.active_integration(conv_id) == AGENTS["id"]


async def test_a_lost_pass_control_answer_is_not_passed_again(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    fake.lose_answer_next(STALL_S, method="POST")
    await client.pass_control(conv_id, "next", {}, "k")
    assert len(fake.calls("POST", fake.path(conv_id, "/passControl"))) == 1
    # passed once: "next" again would have given it back to the bot
    assert fake.conversations[conv_id]["activeSwitchboardIntegration"] == AGENTS


async def test_a_failed_pass_control_is_retried_when_nothing_changed(
    fake: FakeSunshine, client: SunshineClient, conv_id: str
) -> None:
    assert fake.conversations[conv_id]["activeSwitchboardIntegration"] == BOT
    fake.fail_next(500, method="POST")
    await client.pass_control(conv_id, "next", {}, "k")
    assert len(fake.calls("POST", fake.path(conv_id, "/passControl"))) == 2
    assert fake.conversations[conv_id]["activeSwitchboardIntegration"] == AGENTS


def test_metadata_is_flat_and_short() -> None:
    flat = flat_metadata({"a": "x" * 5000, "b": 3, "c": True, "d": None, "e": {"n": 1}})
    assert flat == {"a": "x" * MAX_METADATA_TEXT, "b": 3, "c": True, "e": "{'n': 1}"}


# --- SunshineDelivery: outbox items to the client --------------------------------------
def tenants_for(fake: FakeSunshine, reply_mode: str = "autonomous") -> TenantRegistry:
    sunshine = {
        "api_keys": ["sunco-webhook-secret-0123456789"],
        "app_id": fake.app_id,
        "key_id": KEY_ID,
        "key_secret": KEY_SECRET,
        "base_url": fake.url,
        "ai_disclaimer": False,
    }
    bot = BotConfig.model_validate(
        {
            "tenant": "acme",
            "company": "Acme",
            "persona": "You help.",
            "channels": {"reply_mode": reply_mode, "sunshine": sunshine},
        }
    )
    return TenantRegistry({"acme": bot})


async def test_delivery_sends_a_reply(
    fake: FakeSunshine, http: httpx.AsyncClient, conv_id: str
) -> None:
    delivery = SunshineDelivery(tenants_for(fake), http)
    await delivery.deliver(f"acme:sunshine:{conv_id}", OutboxItem("r1", REPLY, {"text": "Hi"}))
    (message,) = fake.messages[conv_id]
    assert message["author"] == {"type": "business"}  # ai_disclaimer: false
    assert message["metadata"] == {"deskhand_key": "r1"}


async def test_delivery_in_draft_mode_sends_nothing(
    fake: FakeSunshine, http: httpx.AsyncClient, conv_id: str
) -> None:
    delivery = SunshineDelivery(tenants_for(fake, reply_mode="draft"), http)
    await delivery.deliver(f"acme:sunshine:{conv_id}", OutboxItem("r1", REPLY, {"text": "Hi"}))
    assert fake.requests == []


async def test_delivery_hands_off_with_a_short_summary(
    fake: FakeSunshine, http: httpx.AsyncClient, conv_id: str
) -> None:
    delivery = SunshineDelivery(tenants_for(fake), http)
    payload = {"reason": "customer_request", "priority": "high", "summary": "s" * 5000}
    await delivery.deliver(f"acme:sunshine:{conv_id}", OutboxItem("h1", HANDOFF, payload))
    (call,) = fake.calls("POST", fake.path(conv_id, "/passControl"))
    metadata = call.body["metadata"]
    assert metadata["reason"] == "customer_request" and metadata["priority"] == "high"
    assert len(metadata["summary"]) == MAX_SUMMARY_CHARS and metadata["deskhand_key"] == "h1"
    assert fake.conversations[conv_id]["activeSwitchboardIntegration"] == AGENTS


async def test_delivery_of_an_approval_request_makes_no_call(
    fake: FakeSunshine, http: httpx.AsyncClient, conv_id: str
) -> None:
    delivery = SunshineDelivery(tenants_for(fake), http)
    item = OutboxItem("a1:requested", APPROVAL, {"id": "a1", "tool": "request_refund"})
    await delivery.deliver(f"acme:sunshine:{conv_id}", item)
    assert fake.requests == []
