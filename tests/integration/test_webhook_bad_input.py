"""Bad input gets a clear 4xx and stores nothing; never a 500, never a secret in the logs."""

import json
import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.conftest import DEMO_SECRET, DEMO_TOKEN, Running, StartDeskhand
from tools.signing.standard_webhooks import generate_secret, signed_headers

pytestmark = pytest.mark.slow
URL = "/webhooks/demo/generic"


@pytest.fixture
def deskhand(start_deskhand: StartDeskhand) -> Iterator[Running]:
    with start_deskhand() as running:
        yield running


def event(conv: str, **message: object) -> dict[str, object]:
    return {
        "type": "message.created",
        "conversation": {"id": conv},
        "message": {"id": "m-1", "text": "hello", **message},
        "customer": {"id": "cust_1001", "email": "alex@example.com"},
    }


def post(deskhand: Running, body: bytes, secret: str = DEMO_SECRET, **kwargs: object):
    headers = signed_headers(secret, body, **kwargs).as_dict()  # type: ignore[arg-type]
    headers["content-type"] = "application/json"
    return deskhand.http.post(URL, content=body, headers=headers)


def stored(deskhand: Running, conv: str) -> int:
    response = deskhand.http.get(
        f"/v1/conversations/demo:generic:{conv}",
        headers={"authorization": f"Bearer {DEMO_TOKEN}"},
    )
    return response.status_code


def new_conv() -> str:
    return f"bad-{uuid.uuid4().hex[:8]}"


def test_missing_signature_is_401_and_nothing_is_stored(deskhand: Running) -> None:
    conv = new_conv()
    response = deskhand.http.post(URL, content=json.dumps(event(conv)).encode())
    assert response.status_code == 401
    assert "missing header" in response.json()["error"]
    time.sleep(0.3)
    assert stored(deskhand, conv) == 404


def test_wrong_secret_is_401(deskhand: Running) -> None:
    conv = new_conv()
    response = post(deskhand, json.dumps(event(conv)).encode(), secret=generate_secret())
    assert response.status_code == 401
    assert response.json()["error"] == "webhook signature rejected: signature does not match"
    time.sleep(0.3)
    assert stored(deskhand, conv) == 404


def test_tampered_body_is_401(deskhand: Running) -> None:
    conv = new_conv()
    body = json.dumps(event(conv)).encode()
    headers = signed_headers(DEMO_SECRET, body).as_dict()
    response = deskhand.http.post(URL, content=body.replace(b"hello", b"HELLO"), headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_or_future_timestamp_is_401(deskhand: Running, skew: int) -> None:
    body = json.dumps(event(new_conv())).encode()
    response = post(deskhand, body, timestamp=int(time.time()) + skew)
    assert response.status_code == 401
    assert "timestamp" in response.json()["error"]


def test_malformed_json_is_400(deskhand: Running) -> None:
    response = post(deskhand, b'{"type": "message.created", ')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_wrong_types_are_422_naming_the_field(deskhand: Running) -> None:
    body = event(new_conv(), text=42)
    response = post(deskhand, json.dumps(body).encode())
    assert response.status_code == 422
    assert "message.text" in response.json()["error"]


def test_missing_field_and_unknown_event_type_are_422(deskhand: Running) -> None:
    body = event(new_conv())
    del body["customer"]
    body["type"] = "conversation.deleted"
    error = post(deskhand, json.dumps(body).encode()).json()["error"]
    assert "customer: Field required" in error
    assert "type:" in error


def test_conversation_id_with_unsafe_characters_is_422(deskhand: Running) -> None:
    body = event("a{b}c")
    response = post(deskhand, json.dumps(body).encode())
    assert response.status_code == 422
    assert "conversation.id" in response.json()["error"]


def test_oversized_body_is_413(deskhand: Running) -> None:
    body = json.dumps(event(new_conv(), text="x" * (1024 * 1024))).encode()
    response = post(deskhand, body)
    assert response.status_code == 413
    assert "1048576-byte limit" in response.json()["error"]


def test_unknown_tenant_and_channel_are_404(deskhand: Running) -> None:
    body = json.dumps(event(new_conv())).encode()
    assert deskhand.http.post("/webhooks/nobody/generic", content=body).status_code == 404
    response = deskhand.http.post("/webhooks/demo/carrier-pigeon", content=body)
    assert response.status_code == 404
    assert "generic" in response.json()["error"]


def test_conversations_api_needs_the_tenants_token(deskhand: Running) -> None:
    path = f"/v1/conversations/demo:generic:{new_conv()}"
    assert deskhand.http.get(path).status_code == 401
    wrong = deskhand.http.get(path, headers={"authorization": "Bearer guess"})
    assert wrong.status_code == 401
    assert (
        deskhand.http.get(path, headers={"authorization": f"Bearer {DEMO_TOKEN}"}).status_code
        == 404
    )


def test_bad_input_never_logs_the_body_or_the_secret(
    deskhand: Running, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "my card number is 4111 1111 1111 1111"
    with caplog.at_level(logging.DEBUG):
        post(
            deskhand,
            json.dumps(event(new_conv(), text=secret_text)).encode(),
            secret=generate_secret(),
        )
        post(deskhand, b"{not json " + secret_text.encode())
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert secret_text not in logged
    assert DEMO_SECRET not in logged


def test_health_endpoints_and_metrics(deskhand: Running) -> None:
    assert deskhand.http.get("/healthz").json() == {"status": "ok"}
    ready = deskhand.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["stores"] == "ok"
    post(deskhand, b"{}", secret=generate_secret())
    metrics = deskhand.http.get("/metrics").text
    assert 'deskhand_webhooks_total{channel="generic",result="rejected_401"}' in metrics
    assert "deskhand_queue_depth" in metrics
