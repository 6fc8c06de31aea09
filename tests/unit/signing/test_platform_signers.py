"""tests/support/signers.py signs as each platform does: checked against the verification
recipes of the helpdesk webhook reference (written independently of the signers)."""

import base64
import hashlib
import hmac
import time

import pytest

from tests.support.signers import SIGNERS, sign
from tools.signing.standard_webhooks import generate_secret, verify

BODY = b'{"id": 1, "text": "Where is my order?"}'
SECRET = "s3cret-for-tests-only"


def test_every_channel_has_a_signer() -> None:
    assert set(SIGNERS) == {
        "generic",
        "chatwoot",
        "zendesk",
        "sunshine",
        "intercom",
        "freshdesk",
        "helpscout",
        "front",
    }


def test_generic_is_standard_webhooks() -> None:
    secret = generate_secret()
    headers = sign("generic", secret, BODY, delivery_id="msg_1")
    assert verify([secret], headers, BODY) == "msg_1"


def test_chatwoot() -> None:
    headers = sign("chatwoot", SECRET, BODY, timestamp=1_700_000_000, delivery_id="d-1")
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert headers == {
        "X-Chatwoot-Signature": f"sha256={expected}",
        "X-Chatwoot-Timestamp": "1700000000",
        "X-Chatwoot-Delivery": "d-1",
    }


def test_zendesk() -> None:
    headers = sign("zendesk", SECRET, BODY, timestamp=1_616_649_000)
    ts = headers["X-Zendesk-Webhook-Signature-Timestamp"]
    assert ts == "2021-03-25T05:10:00Z"
    mac = hmac.new(SECRET.encode(), ts.encode() + BODY, hashlib.sha256).digest()
    assert headers["X-Zendesk-Webhook-Signature"] == base64.b64encode(mac).decode()
    assert headers["X-Zendesk-Webhook-Invocation-Id"]


def test_shared_secret_platforms() -> None:
    assert sign("sunshine", SECRET, BODY) == {"X-API-Key": SECRET}
    assert sign("freshdesk", SECRET, BODY) == {"X-Deskhand-Token": SECRET}
    basic = sign("freshdesk", SECRET, BODY, basic=True)["Authorization"]
    assert base64.b64decode(basic.removeprefix("Basic ")).decode() == f"freshdesk:{SECRET}"


def test_intercom() -> None:
    expected = "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()
    assert sign("intercom", SECRET, BODY) == {"X-Hub-Signature": expected}


def test_helpscout() -> None:
    mac = hmac.new(SECRET.encode(), BODY, hashlib.sha1).digest()
    headers = sign("helpscout", SECRET, BODY, event="convo.assigned")
    assert headers == {
        "X-HelpScout-Signature": base64.b64encode(mac).decode(),
        "X-HelpScout-Event": "convo.assigned",
    }


def test_front_signs_milliseconds() -> None:
    headers = sign("front", SECRET, BODY, challenge="abc")
    ts = headers["X-Front-Request-Timestamp"]
    assert abs(int(ts) / 1000 - time.time()) < 5
    mac = hmac.new(SECRET.encode(), ts.encode() + b":" + BODY, hashlib.sha256).digest()
    assert headers["X-Front-Signature"] == base64.b64encode(mac).decode()
    assert headers["X-Front-Challenge"] == "abc"


TIMED = {"chatwoot", "zendesk", "front"}


@pytest.mark.parametrize("channel", ["chatwoot", "zendesk", "intercom", "helpscout", "front"])
def test_another_body_gets_another_signature(channel: str) -> None:
    extra = {"timestamp": 1} if channel in TIMED else {}
    first = sign(channel, SECRET, BODY, **extra)
    second = sign(channel, SECRET, BODY + b" ", **extra)
    name = next(header for header in first if header.endswith(("Signature", "X-Hub-Signature")))
    assert first[name] != second[name]
