"""The pieces every channel's verification is made of.

Each platform signs differently (helpdesk-webhooks reference §9): the adapters combine
these helpers; none of them ever compares secrets or signatures with ``==``.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from agent.channels.base import SignatureInvalid
from tools.signing.headers import header_value

Digest = Literal["sha1", "sha256"]
Encoding = Literal["hex", "base64"]
Clock = Callable[[], float]


def signature(secret: str, signed: bytes, digest: Digest, encoding: Encoding) -> str:
    """The HMAC of ``signed`` keyed with ``secret``, hex or base64 encoded."""
    mac = hmac.new(secret.encode(), signed, getattr(hashlib, digest))
    if encoding == "hex":
        return mac.hexdigest()
    return base64.b64encode(mac.digest()).decode()


def same(expected: str, given: str) -> bool:
    """Constant-time equality of two strings (any characters)."""
    return hmac.compare_digest(expected.encode(), given.encode())


def any_same(expected: Iterable[str], given: str) -> bool:
    """True when ``given`` equals one of ``expected``; every candidate is compared."""
    matched = False
    for candidate in expected:
        matched |= same(candidate, given)
    return matched


def require_hmac(
    secrets: Iterable[str],
    signed: bytes,
    given: str,
    digest: Digest,
    encoding: Encoding,
    prefix: str = "",
) -> None:
    """SignatureInvalid unless ``given`` is ``prefix`` + the HMAC under one of the secrets."""
    if not given:
        raise SignatureInvalid("the signature header is missing")
    expected = [prefix + signature(secret, signed, digest, encoding) for secret in secrets]
    if not any_same(expected, given.strip()):
        raise SignatureInvalid("the signature does not match the configured secret")


header = header_value  # a header's value, or '' (any mapping, any spelling of the name)


def require_fresh(seconds: float, tolerance_s: int, now: Clock = time.time) -> None:
    """SignatureInvalid when a signed timestamp is more than ``tolerance_s`` away from now,
    in either direction (a replay, or a clock far off)."""
    skew = now() - seconds
    if skew > tolerance_s:
        raise SignatureInvalid(f"the signed timestamp is {int(skew)} s old (limit {tolerance_s})")
    if -skew > tolerance_s:
        raise SignatureInvalid(f"the signed timestamp is {int(-skew)} s in the future")


def unix_seconds(value: str, name: str, scale: float = 1.0) -> float:
    """A timestamp header as seconds (``scale`` 1000 for milliseconds)."""
    if not value:
        raise SignatureInvalid(f"the {name} header is missing")
    if not (value.isascii() and value.isdigit()) or len(value) > 16:
        raise SignatureInvalid(f"the {name} header is not a unix timestamp")
    return int(value) / scale


def require_token(tokens: Iterable[str], given: str, what: str = "the shared token") -> None:
    if not given:
        raise SignatureInvalid(f"{what} is missing")
    if not any_same(tokens, given):
        raise SignatureInvalid(f"{what} does not match")


def url_token_matches(tokens: Iterable[str], query: Mapping[str, str]) -> bool:
    """True when the webhook URL carries one of the configured ``?token=`` values."""
    given = query.get("token", "")
    candidates = tuple(tokens)
    return bool(given) and bool(candidates) and any_same(candidates, given)


def basic_auth_password(headers: Mapping[str, str]) -> str:
    """The password of an ``Authorization: Basic`` header ('' when absent or malformed)."""
    scheme, _, encoded = header(headers, "Authorization").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[2]
