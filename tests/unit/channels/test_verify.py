"""The verification pieces every channel is made of."""

import base64
import hashlib
import hmac

import pytest

from agent.channels.base import SignatureInvalid
from agent.channels.verify import (
    any_same,
    basic_auth_password,
    require_fresh,
    require_hmac,
    require_token,
    signature,
    unix_seconds,
    url_token_matches,
)

BODY = b'{"event":"message_created"}'


def test_signatures_match_the_reference_formulas() -> None:
    hex256 = hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    b64sha1 = base64.b64encode(hmac.new(b"k", BODY, hashlib.sha1).digest()).decode()
    assert signature("k", BODY, "sha256", "hex") == hex256
    assert signature("k", BODY, "sha1", "base64") == b64sha1


def test_either_secret_of_a_rotation_passes() -> None:
    given = "sha256=" + signature("new", BODY, "sha256", "hex")
    require_hmac(["old", "new"], BODY, given, "sha256", "hex", prefix="sha256=")
    with pytest.raises(SignatureInvalid, match="does not match"):
        require_hmac(["old"], BODY, given, "sha256", "hex", prefix="sha256=")


@pytest.mark.parametrize("given", ["", "sha256=", "sha1=abc", "sha256=zz", "garbage"])
def test_missing_or_malformed_signatures_fail(given: str) -> None:
    with pytest.raises(SignatureInvalid):
        require_hmac(["k"], BODY, given, "sha256", "hex", prefix="sha256=")


def test_a_tampered_body_fails() -> None:
    given = signature("k", BODY, "sha256", "base64")
    with pytest.raises(SignatureInvalid):
        require_hmac(["k"], BODY + b" ", given, "sha256", "base64")


def test_timestamps_outside_the_window_fail_both_ways() -> None:
    require_fresh(1000.0, 300, now=lambda: 1299.0)
    with pytest.raises(SignatureInvalid, match="old"):
        require_fresh(1000.0, 300, now=lambda: 1301.0)
    with pytest.raises(SignatureInvalid, match="future"):
        require_fresh(1400.0, 300, now=lambda: 1000.0)


@pytest.mark.parametrize("value", ["", "12a", "-5", "1" * 17])
def test_timestamp_headers_must_be_unix_digits(value: str) -> None:
    with pytest.raises(SignatureInvalid):
        unix_seconds(value, "X-Timestamp")


def test_millisecond_timestamps_are_scaled() -> None:
    assert unix_seconds("1694046470930", "x", scale=1000) == pytest.approx(1694046470.93)


def test_tokens_compare_every_candidate() -> None:
    assert any_same(["a" * 20, "b" * 20], "b" * 20)
    assert not any_same([], "x")
    require_token(["t" * 20], "t" * 20)
    with pytest.raises(SignatureInvalid, match="missing"):
        require_token(["t" * 20], "")
    with pytest.raises(SignatureInvalid, match="does not match"):
        require_token(["t" * 20], "u" * 20)


def test_url_tokens_need_a_configured_value() -> None:
    assert url_token_matches(["s" * 20], {"token": "s" * 20})
    assert not url_token_matches([], {"token": ""})
    assert not url_token_matches(["s" * 20], {})


def test_basic_auth_password() -> None:
    encoded = base64.b64encode(b"freshdesk:secret-token").decode()
    assert basic_auth_password({"Authorization": f"Basic {encoded}"}) == "secret-token"
    assert basic_auth_password({"authorization": "Bearer x"}) == ""
    assert basic_auth_password({"Authorization": "Basic !!!"}) == ""
