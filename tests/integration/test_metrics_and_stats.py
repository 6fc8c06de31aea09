"""/metrics and /admin/v1/stats over real HTTP: a real turn (scripted model, a tool call)
shows up with its labels in both; refused webhooks are counted per cause; the stats
endpoint per role, per window and with bad parameters."""

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio
from prometheus_client.parser import text_string_to_metric_families

from agent.cli.client import DemoCustomer
from agent.llm.stub import ScriptedModelServer
from agent.llm.stub.demo import DemoResponder
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_stats import RedisStats
from agent.runtime.stats_records import StatsRow, latency_counts
from tests.integration.conftest import DEMO_SECRET, Running, StartDeskhand
from tools.signing.standard_webhooks import generate_secret, signed_headers

pytestmark = pytest.mark.slow
ADMIN = {"authorization": "Bearer admin-secret"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(deskhand: Running) -> Samples:
    text = deskhand.http.get("/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def isolated(start_deskhand: StartDeskhand, redis_url: str, redis_prefix: str) -> Iterator[Running]:
    """Redis mode under this test's own prefix: the stats store holds this test's turns only."""
    settings: dict[str, Any] = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    with ScriptedModelServer(DemoResponder()) as model:
        settings.update(llm_base_url=model.base_url, admin_token="admin-secret")
        with start_deskhand(**settings) as deskhand:
            yield deskhand


def test_a_real_turn_appears_in_metrics_and_stats(isolated: Running) -> None:
    deskhand = isolated
    since = time.time()
    before = scrape(deskhand)
    client = deskhand.client()
    conv = f"metrics-{uuid.uuid4().hex[:8]}"
    customer = DemoCustomer()
    message_id = client.send(conv, "Where is my order BL-10234?", customer)
    reply = client.wait_reply(conv, message_id, timeout_s=30)
    assert reply.text.startswith("Your order BL-10234 is shipped.")
    after = _settled(deskhand, before)

    turn = {"tenant": "demo", "channel": "generic"}
    assert grew(before, after, "deskhand_turns_total", **turn, outcome="answered") == 1
    assert grew(before, after, "deskhand_graph_turns_total", **turn) == 1
    assert grew(before, after, "deskhand_automated_turns_total", **turn) == 1
    assert grew(before, after, "deskhand_turn_seconds_count", tenant="demo") == 1
    for node, runs in {"guard": 1, "retrieve": 1, "agent": 2, "tools": 1, "respond": 1}.items():
        assert grew(before, after, "deskhand_node_seconds_count", node=node) == runs, node
    assert grew(before, after, "deskhand_model_call_seconds_count", result="ok") == 2
    assert grew(before, after, "deskhand_tool_calls_total", tool="lookup_order") == 1
    prompt = grew(before, after, "deskhand_model_tokens_total", tenant="demo", kind="prompt")
    completion = grew(
        before, after, "deskhand_model_tokens_total", tenant="demo", kind="completion"
    )
    assert prompt > 0 and completion > 0
    assert ("deskhand_queue_depth", frozenset()) in after

    stats = deskhand.http.get(
        "/admin/v1/stats", params={"since": since - 60, "tenant": "demo"}, headers=ADMIN
    )
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["turns"] == 1 and body["automated_turns"] == 1
    assert body["automation_rate"] == 1.0
    assert body["escalations"] == {"total": 0, "by_reason": {}}
    assert body["tokens"] == {
        "prompt": prompt,
        "completion": completion,
        "total": prompt + completion,
    }
    assert body["tool_calls"]["by_tool"] == {"lookup_order": {"calls": 1, "failures": 0}}
    assert body["latency_s"]["count"] == 1 and body["latency_s"]["p50"] > 0


def _settled(deskhand: Running, before: Samples, timeout_s: float = 10) -> Samples:
    """The metrics once the turn is counted (its reply is visible a moment earlier)."""
    deadline = time.monotonic() + timeout_s
    labels = {"tenant": "demo", "channel": "generic"}
    while time.monotonic() < deadline:
        after = scrape(deskhand)
        if grew(before, after, "deskhand_graph_turns_total", **labels):
            return after
        time.sleep(0.1)
    raise AssertionError("the turn was never counted")


def _post(deskhand: Running, path: str, body: bytes, secret: str = DEMO_SECRET) -> int:
    headers = signed_headers(secret, body).as_dict()
    headers["content-type"] = "application/json"
    return deskhand.http.post(path, content=body, headers=headers).status_code


def _event(**message: object) -> bytes:
    return json.dumps(
        {
            "type": "message.created",
            "conversation": {"id": f"rej-{uuid.uuid4().hex[:8]}"},
            "message": {"id": "m-1", "text": "hello", **message},
            "customer": {"id": "cust_1001"},
        }
    ).encode()


def test_webhook_rejections_are_counted_per_cause(isolated: Running) -> None:
    deskhand = isolated
    url = "/webhooks/demo/generic"
    since = time.time()
    before = scrape(deskhand)
    statuses = [
        _post(deskhand, url, _event(), secret=generate_secret()),  # bad signature
        _post(deskhand, url, _event(), secret=generate_secret()),
        _post(deskhand, url, b'{"type": "message.created", '),  # not JSON
        _post(deskhand, url, _event(text=42)),  # a field of the wrong type
        _post(deskhand, url, _event(text="x" * (1024 * 1024))),  # too large
        _post(deskhand, "/webhooks/demo/carrier-pigeon", _event()),  # unknown channel
        _post(deskhand, "/webhooks/nobody/generic", _event()),  # unknown tenant
    ]
    assert statuses == [401, 401, 400, 422, 413, 404, 404]
    after = scrape(deskhand)

    def rejected(channel: str, cause: str, status: str) -> float:
        labels = {"channel": channel, "cause": cause, "status": status}
        return grew(before, after, "deskhand_webhook_rejections_total", **labels)

    assert rejected("generic", "bad_signature", "401") == 2
    assert rejected("generic", "bad_request", "400") == 1
    assert rejected("generic", "invalid", "422") == 1
    assert rejected("generic", "too_large", "413") == 1
    assert rejected("generic", "not_found", "404") == 1  # the unknown tenant
    assert rejected("unknown", "not_found", "404") == 1  # never the sender's channel name
    assert not any(("carrier-pigeon" in str(key)) for key in after)

    def by_cause(tenant: str | None) -> dict[str, int]:
        params: dict[str, Any] = {"since": since - 60}
        if tenant:
            params["tenant"] = tenant
        response = deskhand.http.get("/admin/v1/stats", params=params, headers=ADMIN)
        counted: dict[str, int] = response.json()["webhook_rejections"]["by_cause"]
        return counted

    expected = {"bad_signature": 2, "bad_request": 1, "invalid": 1, "too_large": 1, "not_found": 1}
    deadline = time.monotonic() + 10  # the tally reaches the store every 2 s
    while by_cause("demo") != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert by_cause("demo") == expected
    everyone = by_cause(None)  # the unknown tenant's refusal counts under "_unknown"
    assert everyone == {**expected, "not_found": 2}


async def test_the_stats_endpoint_per_role_window_and_bad_input(
    isolated: Running, redis_url: str, redis_prefix: str
) -> None:
    deskhand = isolated
    http = deskhand.http
    now = time.time()
    store = redis.asyncio.Redis.from_url(redis_url)
    stats = RedisStats(store, RedisKeys(redis_prefix), retention_s=30 * 86_400)
    latencies = {now - 7200: 0.3, now - 3600: 3.0, now - 120: 0.05}
    await stats.add(
        [
            StatsRow("demo", at, {"turns": 1, "automated": int(s < 1), **latency_counts(s)})
            for at, s in latencies.items()
        ]
    )
    await store.aclose()
    viewer = _token(http, "viewer", None)
    scoped = _token(http, "viewer", "demo")

    missing = http.get("/admin/v1/stats")
    wrong = http.get("/admin/v1/stats", headers={"authorization": "Bearer nope"})
    other = http.get("/admin/v1/stats", params={"tenant": "acme"}, headers=scoped)
    unknown = http.get("/admin/v1/stats", params={"tenant": "nobody"}, headers=viewer)
    bad_since = http.get("/admin/v1/stats", params={"since": "yesterday"}, headers=viewer)
    backwards = http.get(
        "/admin/v1/stats", params={"since": now, "until": now - 60}, headers=viewer
    )
    assert missing.status_code == 401 and wrong.status_code == 401
    assert other.status_code == 403 and "demo" in other.json()["error"]
    assert unknown.status_code == 404
    assert bad_since.status_code == 422 and "since" in bad_since.json()["error"]
    assert backwards.status_code == 422 and "since" in backwards.json()["error"]

    def window(headers: dict[str, str], **params: Any) -> dict[str, Any]:
        response = http.get("/admin/v1/stats", params=params, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    day = window(viewer)  # the default: the last 24 hours
    assert day["turns"] == 3 and day["automated_turns"] == 2 and day["tenant"] is None
    assert day["automation_rate"] == pytest.approx(2 / 3, abs=1e-4)
    # 3 turns: one in (0, 0.1], one in (0.25, 0.5], one in (2, 4]. p50: rank 1.5 falls in
    # (0.25, 0.5] after 1 below: 0.25 + 0.25 * 0.5 = 0.375. p90: rank 2.7 in (2, 4]:
    # 2 + 2 * 0.7 = 3.4.
    assert day["latency_s"]["p50"] == pytest.approx(0.375)
    assert day["latency_s"]["p90"] == pytest.approx(3.4)
    recent = window(scoped, since=_iso(now - 1800))  # ISO 8601; the scoped token's tenant
    assert recent["turns"] == 1 and recent["tenant"] == "demo"
    assert recent["latency_s"]["p50"] == pytest.approx(0.05)
    middle = window(ADMIN, since=now - 5400, until=now - 1800, tenant="demo")
    assert middle["turns"] == 1 and middle["automated_turns"] == 0
    assert window(ADMIN, since=now - 86_400 * 3, until=now - 86_400)["turns"] == 0


def _token(http: Any, role: str, tenant: str | None) -> dict[str, str]:
    body = {"name": f"{role}-{tenant}", "role": role, "tenant": tenant}
    response = http.post("/admin/v1/tokens", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"authorization": f"Bearer {response.json()['secret']}"}


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at))
