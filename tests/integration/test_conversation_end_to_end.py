"""One conversation through the whole product, over real HTTP.

signed webhook → dedupe → queue → worker → graph (Chroma retrieval, scripted model,
tools) → transcript → signed callback and GET /v1/conversations.
"""

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import redis

from agent.cli.client import DemoCustomer
from agent.llm.stub import ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.llm.stub.demo import DemoResponder
from tests.integration.conftest import DEMO_SECRET, StartDeskhand
from tools.context import Customer
from tools.demo_shop import DEMO_SHOP_ADMIN_TOKEN
from tools.signing.standard_webhooks import signed_headers, verify
from tools.ticketing.base import Ticket
from tools.ticketing.builtin import BuiltinTicketStore

pytestmark = pytest.mark.slow
SHOP_ADMIN = {"authorization": f"Bearer {DEMO_SHOP_ADMIN_TOKEN}"}


def conversation() -> str:
    return f"it-{uuid.uuid4().hex[:10]}"


def test_degraded_answer_is_grounded_in_a_demo_article(start_deskhand: StartDeskhand) -> None:
    with start_deskhand() as deskhand:
        assert deskhand.http.get("/readyz").json()["status"] == "degraded"
        client = deskhand.client()
        conv = conversation()
        message_id = client.send(conv, "How long does a refund take?", _customer())
        reply = client.wait_reply(conv, message_id, timeout_s=30)
    assert reply.degraded
    assert "5–7 business days" in reply.text
    assert reply.citations[0]["source"] == "refunds.md"
    assert reply.citations[0]["url"].endswith("/articles/refunds")


def test_with_the_model_a_tool_is_called_and_the_models_words_reply(
    start_deskhand: StartDeskhand,
) -> None:
    with ScriptedModelServer(DemoResponder()) as model:
        with start_deskhand(llm_base_url=model.base_url) as deskhand:
            assert deskhand.http.get("/readyz").json()["status"] == "ready"
            client = deskhand.client()
            conv = conversation()
            message_id = client.send(conv, "Where is my order BL-10234?", _customer())
            reply = client.wait_reply(conv, message_id, timeout_s=30)
        requests = model.requests
    assert reply.text.startswith("Your order BL-10234 is shipped.")
    assert "https://track.brightleaf.example/BL-10234" in reply.text
    assert not reply.degraded and reply.escalation is None
    assert len(requests) == 2
    first, second = requests
    assert first["chat_template_kwargs"] == {"enable_thinking": False}
    assert first["messages"][0]["role"] == "system"
    assert "<knowledge>" in first["messages"][-1]["content"]
    tool_result = json.loads(second["messages"][-1]["content"])
    assert tool_result["result"]["status"] == "shipped"


def test_an_approval_round_trip_through_the_generic_channel(
    start_deskhand: StartDeskhand, receiver
) -> None:
    """Retrieval, a tool call, a refund paused for approval, an operator's decision over the
    admin API, the refund made once, the model's confirmation at the callback URL."""
    recorder, url = receiver
    refund = {"order_id": "BL-10217", "amount": 89.0, "reason": "casserole arrived cracked"}
    with ScriptedModelServer() as model:
        model.set_script(
            [
                ScriptedResponse(
                    tool_calls=[
                        ScriptedToolCall(name="track_shipment", arguments={"order_id": "BL-10217"})
                    ]
                ),
                ScriptedResponse(
                    tool_calls=[ScriptedToolCall(name="request_refund", arguments=refund)]
                ),
                ScriptedResponse(content="Done: €89.00 for BL-10217 is on its way back to you."),
            ]
        )
        settings = {"llm_base_url": model.base_url, "admin_token": "admin-secret"}
        bot = {"generic": {"callback_url": url}}
        with start_deskhand(bot=bot, **settings) as deskhand:
            shop = lambda: deskhand.http.get("/demo-shop/admin/snapshot", headers=SHOP_ADMIN)  # noqa: E731
            before = shop().text
            client = deskhand.client()
            conv = conversation()
            text = "My casserole (order BL-10217) arrived cracked. I want my 89 euros back."
            paused = client.wait_reply(conv, client.send(conv, text, _customer()), timeout_s=30)
            assert shop().text == before  # nothing refunded without a person
            admin = {"authorization": "Bearer admin-secret"}
            (pending,) = deskhand.http.get("/admin/v1/approvals", headers=admin).json()["approvals"]
            decision = {"decision": "approve", "operator": "ana"}
            decided = deskhand.http.post(
                f"/admin/v1/approvals/{pending['id']}", json=decision, headers=admin
            )
            again = deskhand.http.post(
                f"/admin/v1/approvals/{pending['id']}", json=decision, headers=admin
            )
            confirmed = _wait_for(lambda: _bot_texts(deskhand, conv), count=2)
            refunds = json.loads(shop().text)["refunds"]
    assert "needs to confirm" in paused.text and paused.approval is not None
    assert pending["tool"] == "request_refund" and pending["arguments"] == refund
    assert decided.status_code == 200 and again.status_code == 409
    assert confirmed[-1] == "Done: €89.00 for BL-10217 is on its way back to you."
    assert [r["order_id"] for r in refunds].count("BL-10217") == 1
    events = [json.loads(body)["type"] for _, body in recorder.received]
    assert events == ["message.created", "approval.requested", "message.created"]


def test_an_escalation_carries_a_summary_for_the_agent(start_deskhand: StartDeskhand) -> None:
    with start_deskhand() as deskhand:
        client = deskhand.client()
        conv = conversation()
        text = "Your kettle gave me an electric shock, order BL-10234. I want a person."
        reply = client.wait_reply(conv, client.send(conv, text, _customer()), timeout_s=30)
    assert reply.escalation is not None
    summary = reply.escalation["summary"]
    assert "Customer wants:" in summary and "Suggested next step:" in summary
    assert "order id BL-10234" in summary


def _bot_texts(deskhand, conv: str) -> list[str]:
    return [e["text"] for e in _transcript(deskhand, conv)["entries"] if e["author"] == "bot"]


def _wait_for(read, count: int, timeout_s: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = read()
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"only {read()} after {timeout_s} s")


def test_the_model_opens_a_ticket_in_the_builtin_store(
    start_deskhand: StartDeskhand, data_dir: Path
) -> None:
    subject = f"Aurora lamp flickers ({uuid.uuid4().hex[:8]})"
    arguments = {
        "subject": subject,
        "description": "The Aurora lamp from order BL-10234 flickers since Monday.",
        "requester": {"email": "someone.else@example.com"},  # not in the schema: ignored
    }
    answer = "I've opened a ticket for you; our team will follow up by e-mail."
    with ScriptedModelServer() as model:
        model.set_script(
            [
                ScriptedResponse(
                    tool_calls=[ScriptedToolCall(name="create_ticket", arguments=arguments)]
                ),
                ScriptedResponse(content=answer),
            ]
        )
        with start_deskhand(llm_base_url=model.base_url) as deskhand:
            client = deskhand.client()
            conv = conversation()
            text = "My new Aurora lamp flickers. Could you file a ticket about it?"
            reply = client.wait_reply(conv, client.send(conv, text, _customer()), timeout_s=30)
        requests = model.requests
    assert reply.text.startswith(answer) and reply.escalation is None
    offered = [t["function"]["name"] for t in requests[0]["tools"]]
    assert "create_ticket" in offered and "list_my_tickets" in offered
    result = json.loads(requests[1]["messages"][-1]["content"])
    assert result["ok"] and result["result"]["subject"] == subject
    customer = _customer()
    mine = asyncio.run(_tickets(data_dir / "tickets" / "demo.sqlite3", customer))
    created = [t for t in mine if t.subject == subject]
    assert [t.id for t in created] == [result["result"]["id"]]
    assert (created[0].requester_email, created[0].requester_id) == (customer.email, customer.id)


async def _tickets(path: Path, customer: DemoCustomer) -> list[Ticket]:
    store = await BuiltinTicketStore.open(path)
    try:
        return await store.list_customer_tickets(Customer(customer.id, customer.email))
    finally:
        await store.aclose()


def test_reply_and_handoff_reach_the_signed_callback(
    start_deskhand: StartDeskhand, receiver
) -> None:
    recorder, url = receiver
    with start_deskhand(bot={"generic": {"callback_url": url}}) as deskhand:
        client = deskhand.client()
        conv = conversation()
        first = client.send(conv, "I want to talk to a human", _customer())
        reply = client.wait_reply(conv, first, timeout_s=30)
        assert reply.escalation is not None
        assert reply.escalation["reason"] == "customer_request"
        assert "Customer wants:" in reply.escalation["summary"]
        # A human owns the conversation now: the next message is recorded, not answered.
        second = client.send(conv, "hello? anyone?", _customer())
        silent = client.wait_reply(conv, second, timeout_s=10)
        transcript = deskhand.http.get(
            f"/v1/conversations/demo:generic:{conv}",
            headers={"authorization": "Bearer demo-api-token-not-for-production"},
        ).json()
    assert silent.mode == "manual" and silent.text == ""
    assert [e["author"] for e in transcript["entries"]] == ["customer", "bot", "customer"]
    assert transcript["escalation_reason"] == "customer_request"
    events = []
    for headers, body in recorder.received:
        verify([DEMO_SECRET], headers, body)  # raises if the signature is wrong
        events.append(json.loads(body))
    assert [e["type"] for e in events] == ["message.created", "conversation.handoff"]
    assert events[0]["message"]["in_reply_to"] == first
    assert events[1]["handoff"]["reason"] == "customer_request"
    assert "trace" not in json.dumps(transcript)


def test_a_redelivered_webhook_is_answered_once(start_deskhand: StartDeskhand) -> None:
    with start_deskhand() as deskhand:
        client = deskhand.client()
        conv = conversation()
        body = _event(conv, "m-1", "How do I reset my password?")
        headers = _signed(body, webhook_id=f"delivery-{uuid.uuid4().hex}")
        first = deskhand.http.post("/webhooks/demo/generic", content=body, headers=headers)
        again = deskhand.http.post("/webhooks/demo/generic", content=body, headers=headers)
        client.wait_reply(conv, "m-1", timeout_s=30)
        transcript = _transcript(deskhand, conv)
    assert first.json()["status"] == "queued"
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert [e["author"] for e in transcript["entries"]] == ["customer", "bot"]


def test_a_message_resent_under_a_new_delivery_id_is_recorded_once(
    start_deskhand: StartDeskhand,
) -> None:
    with start_deskhand() as deskhand:
        client = deskhand.client()
        conv = conversation()
        body = _event(conv, "m-1", "How do I reset my password?")
        answers = [
            deskhand.http.post(
                "/webhooks/demo/generic",
                content=body,
                headers=_signed(body, webhook_id=f"delivery-{uuid.uuid4().hex}"),
            ).json()["status"]
            for _ in range(2)
        ]
        client.wait_reply(conv, "m-1", timeout_s=30)
        transcript = _transcript(deskhand, conv)
    assert answers == ["queued", "duplicate"]
    assert [e["author"] for e in transcript["entries"]] == ["customer", "bot"]


def test_the_conversation_continues_with_history(start_deskhand: StartDeskhand) -> None:
    with ScriptedModelServer(DemoResponder()) as model:
        with start_deskhand(llm_base_url=model.base_url) as deskhand:
            client = deskhand.client()
            conv = conversation()
            for text in ("Can I cancel my order?", "And how long does a refund take?"):
                client.wait_reply(conv, client.send(conv, text, _customer()), timeout_s=30)
        last_request = model.requests[-1]
    history = [m["content"] for m in last_request["messages"][1:3]]
    assert history[0].startswith("Can I cancel my order?")  # the earlier turn, as it was sent
    assert last_request["messages"][2]["role"] == "assistant"


@pytest.mark.redis
def test_production_mode_on_redis(
    start_deskhand: StartDeskhand, redis_url: str, redis_prefix: str
) -> None:
    with start_deskhand(redis_url=redis_url, redis_prefix=redis_prefix) as deskhand:
        client = deskhand.client()
        conv = conversation()
        reply = client.wait_reply(
            conv, client.send(conv, "What payment methods do you accept?", _customer()), 30
        )
        assert "payment" in reply.text.lower()
        keys = redis.Redis.from_url(redis_url).keys(f"{redis_prefix}*")
    names = {k.decode() for k in keys}
    assert f"{redis_prefix}conv:{{demo:generic:{conv}}}:transcript" in names
    assert any(name.startswith(f"{redis_prefix}dedupe:") for name in names)


def _customer() -> DemoCustomer:
    return DemoCustomer()


def _event(conv: str, message_id: str, text: str) -> bytes:
    return json.dumps(
        {
            "type": "message.created",
            "conversation": {"id": conv},
            "message": {"id": message_id, "text": text},
            "customer": {"id": "cust_1001", "email": "alex@example.com"},
        }
    ).encode()


def _signed(body: bytes, webhook_id: str | None = None) -> dict[str, str]:
    headers = signed_headers(DEMO_SECRET, body, webhook_id=webhook_id).as_dict()
    return {"content-type": "application/json", **headers}


def _transcript(deskhand, conv: str) -> dict:
    response = deskhand.http.get(
        f"/v1/conversations/demo:generic:{conv}",
        headers={"authorization": "Bearer demo-api-token-not-for-production"},
    )
    assert response.status_code == 200
    return response.json()
