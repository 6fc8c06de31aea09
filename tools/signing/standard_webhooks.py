"""Standard Webhooks v1 symmetric signatures (HMAC-SHA256).

Signed content is ``"{webhook-id}.{webhook-timestamp}.{raw body}"``; the key is the
base64-decoded secret after its ``whsec_`` prefix; the ``webhook-signature`` header
holds one or more space-separated ``v1,<base64>`` entries (key rotation).
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tools.errors import SignatureError
from tools.signing.headers import header_value

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
DEFAULT_TOLERANCE_S = 300


@dataclass(frozen=True)
class SignedHeaders:
    webhook_id: str
    timestamp: int
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            "webhook-id": self.webhook_id,
            "webhook-timestamp": str(self.timestamp),
            "webhook-signature": self.signature,
        }


def generate_secret() -> str:
    """A new random secret in the ``whsec_`` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_...`` secret stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("secret is not valid base64 after its whsec_ prefix") from None


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, body: bytes, webhook_id: str | None = None, timestamp: int | None = None
) -> SignedHeaders:
    """Headers for an outbound delivery; a stable ``webhook_id`` lets the receiver dedupe."""
    webhook_id = webhook_id or f"msg_{secrets.token_hex(12)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return SignedHeaders(webhook_id, timestamp, sign(secret, webhook_id, timestamp, body))


def verify(
    secrets_: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: Callable[[], float] = time.time,
) -> str:
    """Check a delivery against any of the tenant's secrets; return its ``webhook-id``.

    Raises SignatureError saying what is wrong (never which secret was tried).
    """
    webhook_id, timestamp, signature_header = _required_headers(headers)
    _check_timestamp(timestamp, tolerance_s, now())
    offered = [
        entry.split(",", 1)[1]
        for entry in signature_header.split()
        if entry.startswith("v1,") and len(entry) > 3
    ]
    if not offered:
        raise SignatureError("webhook-signature holds no v1 signature")
    for secret in secrets_:
        expected = sign(secret, webhook_id, timestamp, body).split(",", 1)[1]
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return webhook_id
    raise SignatureError("signature does not match")


def _required_headers(headers: Mapping[str, str]) -> tuple[str, int, str]:
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    values = {name: header_value(headers, name) for name in names}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    timestamp = values["webhook-timestamp"]
    if not (timestamp.isascii() and timestamp.lstrip("-").isdigit()):
        raise SignatureError("webhook-timestamp is not an integer")
    return values["webhook-id"], int(timestamp), values["webhook-signature"]


def _check_timestamp(timestamp: int, tolerance_s: int, now: float) -> None:
    if timestamp < now - tolerance_s:
        raise SignatureError("webhook-timestamp is too old")
    if timestamp > now + tolerance_s:
        raise SignatureError("webhook-timestamp is in the future")
