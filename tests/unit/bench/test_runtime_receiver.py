"""The runtime bench's callback receiver: what it records, and a sender that went away."""

import asyncio
import json
from typing import Any

from starlette.testclient import TestClient

from agent.cli.bench.runtime_traffic import Ledger, receiver_app
from tools.signing.standard_webhooks import signed_headers

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


def reply(answers: list[str]) -> bytes:
    event = {
        "type": "message.created",
        "conversation": {"key": "demo:generic:c-1"},
        "message": {"id": "r-1", "answers": answers},
    }
    return json.dumps(event).encode()


def test_a_signed_reply_wakes_the_customer_it_answers() -> None:
    async def run() -> Ledger:
        ledger = Ledger()
        app = receiver_app(ledger, asyncio.get_running_loop(), [SECRET])
        body = reply(["c-1-m1"])
        headers = {"content-type": "application/json"}
        headers |= signed_headers(SECRET, body, webhook_id="wh-1").as_dict()
        with TestClient(app) as client:
            assert client.post("/events", content=body, headers=headers).status_code == 200
        await asyncio.sleep(0)  # the record is handed to this loop
        return ledger

    ledger = asyncio.run(run())
    assert list(ledger.answered_at) == ["c-1-m1"]


def test_a_sender_killed_mid_request_is_not_an_application_error() -> None:
    """A worker SIGKILLed while posting a callback: the receiver answers nothing, records
    nothing and raises nothing (the worker's outbox delivers the reply again)."""

    async def run() -> tuple[Ledger, list[dict[str, Any]]]:
        ledger = Ledger()
        app = receiver_app(ledger, asyncio.get_running_loop(), [SECRET])
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http", "method": "POST", "path": "/events", "raw_path": b"/events",
            "query_string": b"", "headers": [(b"content-type", b"application/json")],
            "http_version": "1.1", "scheme": "http", "root_path": "",
            "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
        }  # fmt: skip
        messages = [
            {"type": "http.request", "body": b'{"type": "mess', "more_body": True},
            {"type": "http.disconnect"},
        ]

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return ledger, sent

    ledger, sent = asyncio.run(run())
    assert ledger.callbacks == [] and ledger.bad_signatures == 0
    assert sent[0]["status"] == 400
