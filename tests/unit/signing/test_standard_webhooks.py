"""Standard Webhooks verification: valid, tampered, wrong secret, stale, future, rotation."""

import base64
import hashlib
import hmac

import pytest

from tools.errors import SignatureError
from tools.signing.standard_webhooks import generate_secret, sign, signed_headers, verify

SECRET = generate_secret()
OTHER = generate_secret()
NOW = 1_760_000_000
BODY = b'{"type":"message.created"}'


def headers_for(secret: str = SECRET, timestamp: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(secret, body, webhook_id="msg_1", timestamp=timestamp).as_dict()


def check(headers: dict[str, str], body: bytes = BODY, secrets: list[str] | None = None) -> str:
    return verify(secrets or [SECRET], headers, body, tolerance_s=300, now=lambda: NOW)


def test_signature_matches_the_spec_computation() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.%d." % NOW + BODY, hashlib.sha256).digest()
    ).decode()
    assert sign(SECRET, "msg_1", NOW, BODY) == f"v1,{expected}"


def test_valid_delivery_returns_its_id() -> None:
    assert check(headers_for()) == "msg_1"


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in headers_for().items()}
    assert check(headers) == "msg_1"


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        check(headers_for(), body=BODY.replace(b"created", b"deleted"))


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureError, match="does not match"):
        check(headers_for(secret=OTHER))


def test_stale_timestamp_is_rejected() -> None:
    with pytest.raises(SignatureError, match="too old"):
        check(headers_for(timestamp=NOW - 301))


def test_future_timestamp_is_rejected() -> None:
    with pytest.raises(SignatureError, match="future"):
        check(headers_for(timestamp=NOW + 301))


def test_timestamps_within_tolerance_pass() -> None:
    assert check(headers_for(timestamp=NOW - 299)) == "msg_1"
    assert check(headers_for(timestamp=NOW + 299)) == "msg_1"


def test_changed_timestamp_breaks_the_signature() -> None:
    headers = headers_for()
    headers["webhook-timestamp"] = str(NOW + 1)
    with pytest.raises(SignatureError, match="does not match"):
        check(headers)


def test_several_signatures_in_the_header_any_may_match() -> None:
    good = headers_for()["webhook-signature"]
    headers = headers_for()
    headers["webhook-signature"] = f"v1,AAAA {good} v1a,ignored"
    assert check(headers) == "msg_1"


def test_secret_rotation_accepts_old_and_new_secret() -> None:
    assert check(headers_for(secret=OTHER), secrets=[SECRET, OTHER]) == "msg_1"
    assert check(headers_for(secret=SECRET), secrets=[OTHER, SECRET]) == "msg_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_named(missing: str) -> None:
    headers = headers_for()
    del headers[missing]
    with pytest.raises(SignatureError, match=missing):
        check(headers)


def test_non_numeric_timestamp() -> None:
    headers = headers_for()
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(SignatureError, match="not an integer"):
        check(headers)


def test_header_without_v1_entries() -> None:
    headers = headers_for()
    headers["webhook-signature"] = "v2,abc"
    with pytest.raises(SignatureError, match="no v1 signature"):
        check(headers)
