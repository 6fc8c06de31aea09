"""What the channels' full-path tests share: post a signed delivery to a running deskhand,
poll until something happens (a call recorded by a fake helpdesk, a transcript entry)."""

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.integration.conftest import DEMO_TOKEN, Running
from tests.support.signers import sign

T = TypeVar("T")
REFUND_QUESTION = "How long does a refund take?"
REFUND_ANSWER = "5–7 business days"


def post(deskhand: Running, channel: str, secret: str, body: bytes, **extra: Any) -> httpx.Response:
    headers = {"content-type": "application/json", **sign(channel, secret, body, **extra)}
    return deskhand.http.post(f"/webhooks/demo/{channel}", content=body, headers=headers)


def wait_for(found: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """The first truthy answer of ``found``, polled until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = found()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"nothing within {timeout_s:g} s")


def transcript(deskhand: Running, key: str) -> dict[str, Any] | None:
    """The conversation's transcript and mode, or None while it does not exist."""
    headers = {"authorization": f"Bearer {DEMO_TOKEN}"}
    response = deskhand.http.get(f"/v1/conversations/{key}", headers=headers)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def recorded_customer_message(deskhand: Running, key: str, text: str) -> dict[str, Any] | None:
    """The transcript once it holds the customer's ``text`` (the turn has consumed it)."""
    data = transcript(deskhand, key)
    entries = data["entries"] if data else []
    if any(e["author"] == "customer" and text in e["text"] for e in entries):
        return data
    return None
