"""Sign a webhook body exactly as each platform does, for tests that post deliveries.

    headers = sign("chatwoot", secret, body)                     # signed now
    headers = sign("zendesk", secret, body, timestamp=then)      # a stale delivery
    headers = sign("freshdesk", token, body, basic=True)         # Basic auth, not the header

``timestamp`` is unix seconds for every platform (Front's header gets milliseconds,
Zendesk's an ISO-8601 time). The answer holds the authentication headers and, where the
platform sends one, its delivery id or event header; never ``content-type``.
"""

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tools.signing.standard_webhooks import signed_headers

Signer = Callable[..., dict[str, str]]


def _now(timestamp: float | None) -> float:
    return time.time() if timestamp is None else timestamp


def _hmac(secret: str, message: bytes, digest: str) -> bytes:
    return hmac.new(secret.encode(), message, digest).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def generic(
    secret: str, body: bytes, timestamp: float | None = None, delivery_id: str | None = None
) -> dict[str, str]:
    """Standard Webhooks (``whsec_`` secret)."""
    ts = None if timestamp is None else int(timestamp)
    return signed_headers(secret, body, webhook_id=delivery_id, timestamp=ts).as_dict()


def chatwoot(
    secret: str, body: bytes, timestamp: float | None = None, delivery_id: str | None = None
) -> dict[str, str]:
    """``sha256=<hex HMAC-SHA256(secret, "{ts}.{body}")>``, unix seconds."""
    ts = str(int(_now(timestamp)))
    digest = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "X-Chatwoot-Signature": f"sha256={digest}",
        "X-Chatwoot-Timestamp": ts,
        "X-Chatwoot-Delivery": delivery_id or str(uuid.uuid4()),
    }


def zendesk(
    secret: str, body: bytes, timestamp: float | None = None, delivery_id: str | None = None
) -> dict[str, str]:
    """``base64(HMAC-SHA256(secret, iso_timestamp + body))``, no separator."""
    moment = datetime.fromtimestamp(int(_now(timestamp)), tz=UTC)
    ts = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": _b64(_hmac(secret, ts.encode() + body, "sha256")),
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
        "X-Zendesk-Webhook-Invocation-Id": delivery_id or str(uuid.uuid4()),
    }


def sunshine(secret: str, body: bytes) -> dict[str, str]:
    """No signature: the webhook's shared secret in ``X-API-Key``."""
    return {"X-API-Key": secret}


def intercom(secret: str, body: bytes) -> dict[str, str]:
    """``sha1=<hex HMAC-SHA1(client_secret, body)>``."""
    return {"X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest()}


def freshdesk(
    secret: str,
    body: bytes,
    basic: bool = False,
    header: str = "X-Deskhand-Token",
    user: str = "freshdesk",
) -> dict[str, str]:
    """No signature: the shared token in a header, or as Basic auth's password."""
    if basic:
        return {"Authorization": "Basic " + _b64(f"{user}:{secret}".encode())}
    return {header: secret}


def helpscout(
    secret: str, body: bytes, event: str = "convo.customer.reply.created"
) -> dict[str, str]:
    """``base64(HMAC-SHA1(secret, body))`` and the event name."""
    return {
        "X-HelpScout-Signature": _b64(_hmac(secret, body, "sha1")),
        "X-HelpScout-Event": event,
    }


def front(
    secret: str, body: bytes, timestamp: float | None = None, challenge: str | None = None
) -> dict[str, str]:
    """``base64(HMAC-SHA256(key, "{ts_ms}:" + body))``, milliseconds."""
    ts = str(int(_now(timestamp) * 1000))
    headers = {
        "X-Front-Signature": _b64(_hmac(secret, ts.encode() + b":" + body, "sha256")),
        "X-Front-Request-Timestamp": ts,
    }
    if challenge is not None:
        headers["X-Front-Challenge"] = challenge
    return headers


SIGNERS: dict[str, Signer] = {
    "generic": generic,
    "chatwoot": chatwoot,
    "zendesk": zendesk,
    "sunshine": sunshine,
    "intercom": intercom,
    "freshdesk": freshdesk,
    "helpscout": helpscout,
    "front": front,
}


def sign(channel: str, secret: str, body: bytes, **extra: Any) -> dict[str, str]:
    """The headers ``channel``'s platform would send with ``body`` signed by ``secret``."""
    return SIGNERS[channel](secret, body, **extra)
