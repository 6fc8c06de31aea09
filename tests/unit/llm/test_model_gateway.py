"""The model-call gateway over real HTTP, in front of the scripted model server.

The gateway runs with uvicorn in a background thread; the clients are httpx and the
agent's ``ChatClient``. The stub's recorded requests count the upstream calls.
"""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.background_server import BackgroundServer
from agent.config.settings import Settings
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.gateway import (
    OUTCOME_HEADER,
    PRIVATE_SESSION_HEADER,
    GatewayConfig,
    ModelGateway,
)
from agent.llm.gateway_cache import ResponseCache, StoredResponse, request_key
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse
from agent.llm.types import ChatMessage, ChatOptions
from tests.unit.llm.conftest import FakeClock

CHAT = "/v1/chat/completions"
BODY = {"model": "qwen3.5-9b", "messages": [{"role": "user", "content": "where is my order?"}]}


class Gateway:
    def __init__(self, app: ModelGateway, server: BackgroundServer) -> None:
        self.app = app
        self.url = server.base_url


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(default_latency_s=0.6) as server:
        server.set_responder(lambda body: ScriptedResponse(content="It ships tomorrow."))
        yield server


@contextmanager
def start_gateway(
    model: ScriptedModelServer, clock: Callable[[], float] = time.monotonic, **options: Any
) -> Iterator[Gateway]:
    app = ModelGateway(GatewayConfig(upstream=model.base_url, **options), clock=clock)
    with BackgroundServer(app, name="model-gateway") as server:
        yield Gateway(app, server)


@pytest.fixture
def gateway(model: ScriptedModelServer) -> Iterator[Gateway]:
    with start_gateway(model) as running:
        yield running


def chat_calls(model: ScriptedModelServer) -> int:
    return len(model.requests)


async def post(
    url: str, session: str | None = "s-1", body: dict[str, Any] = BODY, timeout_s: float = 10.0
) -> httpx.Response:
    headers = {"X-Session-Id": session} if session else {}
    async with httpx.AsyncClient(base_url=url, timeout=timeout_s) as http:
        return await http.post(CHAT, json=body, headers=headers)


def content(response: httpx.Response) -> str:
    return str(response.json()["choices"][0]["message"]["content"])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    """GET /metrics on the gateway: every sample by (name, sorted labels)."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert OUTCOME_HEADER not in response.headers  # not a proxied answer
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_by_outcome(samples: Samples) -> dict[str, float]:
    return {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples.items()
        if name == "deskhand_model_gateway_requests_total"
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_identical_requests_at_once_make_one_upstream_call(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    first, second = await asyncio.gather(post(gateway.url), post(gateway.url))

    assert chat_calls(model) == 1
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # the same answer, byte for byte
    assert content(first) == "It ships tomorrow."
    assert sorted(r.headers[OUTCOME_HEADER] for r in (first, second)) == ["joined", "miss"]


async def test_its_metrics_count_a_miss_a_join_and_a_hit(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    before = await scrape(gateway.url)
    await asyncio.gather(post(gateway.url), post(gateway.url))
    hit = await post(gateway.url)
    after = await scrape(gateway.url)
    again = await scrape(gateway.url)

    assert hit.headers[OUTCOME_HEADER] == "hit"
    assert requests_by_outcome(before) == dict.fromkeys(
        ("miss", "joined", "hit", "pass", "error"), 0
    )
    assert requests_by_outcome(after) == {"miss": 1, "joined": 1, "hit": 1, "pass": 0, "error": 0}
    assert requests_by_outcome(again) == requests_by_outcome(after)  # scrapes are not counted
    latency = "deskhand_model_gateway_upstream_seconds"
    assert sample(after, f"{latency}_count", result="ok") == 1
    assert sample(after, f"{latency}_sum", result="ok") >= 0.5  # the model takes 0.6 s
    assert sample(after, f"{latency}_bucket", result="ok", le="0.5") == 0
    assert sample(after, f"{latency}_count", result="error") == 0
    assert sample(after, "deskhand_model_gateway_upstream_in_flight") == 0
    assert sample(after, "deskhand_model_gateway_cache_entries") == 1
    assert sample(after, "deskhand_model_gateway_cache_bytes") == gateway.app.cache.bytes > 0
    assert ("process_resident_memory_bytes", ()) in after  # the gateway process's own
    assert chat_calls(model) == 1  # /metrics was answered by the gateway, not asked upstream


async def test_its_metrics_show_upstream_errors_by_kind(model: ScriptedModelServer) -> None:
    model.set_script(
        [
            ScriptedResponse(quirks=Quirks(status=500)),
            ScriptedResponse(quirks=Quirks(status=429)),
        ]
    )
    with start_gateway(model) as gateway:
        failed = await post(gateway.url)
        limited = await post(gateway.url, session=None)
        samples = await scrape(gateway.url)
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            posted = await http.post("/metrics")

    assert (failed.status_code, limited.status_code) == (500, 429)
    assert failed.headers[OUTCOME_HEADER] == "miss" and limited.headers[OUTCOME_HEADER] == "pass"
    assert requests_by_outcome(samples) == {"miss": 0, "joined": 0, "hit": 0, "pass": 0, "error": 2}
    errors = "deskhand_model_gateway_upstream_errors_total"
    assert sample(samples, errors, kind="5xx") == 1
    assert sample(samples, errors, kind="4xx") == 1
    assert (
        sample(samples, errors, kind="timeout") == sample(samples, errors, kind="connection") == 0
    )
    assert sample(samples, "deskhand_model_gateway_upstream_seconds_count", result="error") == 2
    assert sample(samples, "deskhand_model_gateway_cache_entries") == 0
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"


async def test_its_metrics_show_a_connection_failure() -> None:
    with ScriptedModelServer() as gone:
        upstream = gone.base_url  # a port nobody listens on once it stopped
    app = ModelGateway(GatewayConfig(upstream=upstream, connect_timeout_s=2))
    with BackgroundServer(app, name="model-gateway") as server:
        failed = await post(server.base_url)
        samples = await scrape(server.base_url)

    assert failed.status_code == 502
    assert sample(samples, "deskhand_model_gateway_upstream_errors_total", kind="connection") == 1
    assert requests_by_outcome(samples)["error"] == 1


async def test_an_answer_whose_asker_went_away_is_kept_for_its_retry(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    slow = ScriptedResponse(content="It ships tomorrow.", quirks=Quirks(latency_s=3))
    model.set_responder(lambda body: slow)  # still running however slowly the retry comes
    with pytest.raises(httpx.ReadTimeout):  # the worker died: its connection is gone
        await post(gateway.url, timeout_s=0.2)
    joined = await post(gateway.url)  # the retried turn, while the call is still running
    await asyncio.sleep(0.1)
    later = await post(gateway.url)  # and once it has been answered

    assert chat_calls(model) == 1
    assert joined.headers[OUTCOME_HEADER] == "joined"
    assert later.headers[OUTCOME_HEADER] == "hit"
    assert content(joined) == content(later) == "It ships tomorrow."


async def test_a_stored_answer_is_passed_through_as_it_came(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    direct = await post(model.base_url)
    first = await post(gateway.url)
    again = await post(gateway.url)

    assert again.headers[OUTCOME_HEADER] == "hit"
    assert again.content == first.content
    assert again.headers["content-type"] == direct.headers["content-type"]
    assert first.json().keys() == direct.json().keys()


async def test_errors_are_passed_through_and_never_kept(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    model.set_script(
        [
            ScriptedResponse(quirks=Quirks(status=503, retry_after=2)),
            ScriptedResponse(quirks=Quirks(status=429)),
            ScriptedResponse(content="Now it works."),
        ]
    )
    unavailable = await post(gateway.url)
    limited = await post(gateway.url)
    answered = await post(gateway.url)

    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"] == "2"
    assert "overloaded" in unavailable.json()["error"]["message"]
    assert limited.status_code == 429
    assert answered.status_code == 200 and content(answered) == "Now it works."
    assert chat_calls(model) == 3
    assert len(gateway.app.cache) == 1


async def test_two_conversations_never_share_an_answer(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    answers = iter(["for conversation one", "for conversation two"])
    model.set_responder(lambda body: ScriptedResponse(content=next(answers)))

    one, two = await asyncio.gather(post(gateway.url, "s-1"), post(gateway.url, "s-2"))

    assert chat_calls(model) == 2
    assert {content(one), content(two)} == {"for conversation one", "for conversation two"}
    assert one.headers[OUTCOME_HEADER] == two.headers[OUTCOME_HEADER] == "miss"
    forwarded = {r.headers.get("x-session-id") for r in model.recorded if r.path == CHAT}
    assert forwarded == {"s-1", "s-2"}  # the routing header still reaches the model


async def test_requests_without_a_session_are_passed_through_unshared(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    first, second = await asyncio.gather(post(gateway.url, None), post(gateway.url, None))
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        models = await http.get("/v1/models")

    assert chat_calls(model) == 2
    assert first.headers[OUTCOME_HEADER] == second.headers[OUTCOME_HEADER] == "pass"
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "qwen3.5-9b"


async def test_a_kept_answer_expires(model: ScriptedModelServer) -> None:
    model.set_responder(lambda body: ScriptedResponse(content="ok", quirks=Quirks(latency_s=0)))
    clock = FakeClock()  # the kept answers' clock: a slow machine's pauses do not move it
    with start_gateway(model, clock=clock, cache_s=30) as gateway:
        await post(gateway.url)
        clock.advance(29.9)
        hit = await post(gateway.url)
        clock.advance(0.2)  # 30.1 s after the answer was kept
        expired = await post(gateway.url)

        assert hit.headers[OUTCOME_HEADER] == "hit"
        assert expired.headers[OUTCOME_HEADER] == "miss"
        assert chat_calls(model) == 2


async def test_an_upstream_call_past_its_timeout_answers_504_and_is_not_kept(
    model: ScriptedModelServer,
) -> None:
    with start_gateway(model, timeout_s=0.2, connect_timeout_s=0.1) as gateway:
        slow = await post(gateway.url)
        model.set_responder(lambda body: ScriptedResponse(content="ok", quirks=Quirks(latency_s=0)))
        retried = await post(gateway.url)
        samples = await scrape(gateway.url)

        assert slow.status_code == 504
        assert "timed out" in slow.json()["error"]["message"]
        assert retried.status_code == 200 and retried.headers[OUTCOME_HEADER] == "miss"
        errors = "deskhand_model_gateway_upstream_errors_total"
        assert sample(samples, errors, kind="timeout") == 1
        assert requests_by_outcome(samples)["error"] == requests_by_outcome(samples)["miss"] == 1


async def test_the_chat_client_through_the_gateway_plain_and_streamed(
    gateway: Gateway, model: ScriptedModelServer
) -> None:
    messages = [ChatMessage(role="user", content="hello")]
    options = ChatOptions(routing_key="demo:generic:c-1")
    for stream in (False, True):
        async with ChatClient(LLMConfig(base_url=gateway.url, stream=stream)) as client:
            first = await client.chat(messages, options=options)
            again = await client.chat(messages, options=options)
        assert first.content == again.content == "It ships tomorrow."
    assert chat_calls(model) == 2  # one plain, one streamed: different bodies

    streamed = await post(gateway.url, body={**BODY, "stream": True})
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert streamed.text.rstrip().endswith("data: [DONE]")


async def test_a_private_session_header_keys_the_cache_but_is_not_forwarded(
    model: ScriptedModelServer,
) -> None:
    with start_gateway(
        model, session_header=PRIVATE_SESSION_HEADER, forward_session_header=False
    ) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            answers = await asyncio.gather(
                *(
                    http.post(CHAT, json=BODY, headers={PRIVATE_SESSION_HEADER: session})
                    for session in ("a", "a", "b")
                )
            )
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert chat_calls(model) == 2
        forwarded = [r.headers for r in model.recorded if r.path == CHAT]
        assert all(PRIVATE_SESSION_HEADER.lower() not in h for h in forwarded)


def test_the_settings_make_the_gateway_config() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        llm_base_url="http://gpu:8000/v1",
        llm_routing_header="",
        model_gateway_cache_s=30,
        model_gateway_cache_mb=1,
    )
    config = GatewayConfig.from_settings(settings)
    assert config.upstream == "http://gpu:8000"
    assert config.session_header == PRIVATE_SESSION_HEADER
    assert config.forward_session_header is False
    assert config.cache_s == 30 and config.max_bytes == 1024 * 1024


# --- the cache on its own ----------------------------------------------------------------


def answer(body: bytes = b"{}", status: int = 200) -> StoredResponse:
    return StoredResponse(status, (("content-type", "application/json"),), body)


def test_the_key_depends_on_every_part() -> None:
    base = ("POST", CHAT, "s-1", "Bearer k", json.dumps(BODY).encode())
    variants = [
        ("GET", *base[1:]),
        (base[0], "/v1/completions", *base[2:]),
        (*base[:2], "s-2", *base[3:]),
        (*base[:3], "Bearer other", base[4]),
        (*base[:4], b"{}"),
    ]
    keys = {request_key(*base), *(request_key(*v) for v in variants)}
    assert len(keys) == 6


def test_the_cache_keeps_successes_only_and_drops_the_oldest_over_its_bounds() -> None:
    clock = FakeClock()
    cache = ResponseCache(ttl_s=10, max_entries=2, max_bytes=10_000, clock=clock)
    assert cache.put("error", answer(status=500)) is False
    assert cache.put("limited", answer(status=429)) is False
    for key in ("a", "b", "c"):
        cache.put(key, answer())
    assert cache.get("a") is None and cache.get("b") is not None and len(cache) == 2

    small = ResponseCache(ttl_s=10, max_entries=100, max_bytes=100, clock=clock)
    small.put("x", answer(b"x" * 40))
    small.put("y", answer(b"y" * 40))  # 2 * (40 + 28 bytes of header) > 100: x goes
    assert small.get("x") is None and small.get("y") is not None
    assert small.put("huge", answer(b"z" * 200)) is False
    assert small.bytes == answer(b"y" * 40).size

    clock.advance(10.1)
    assert cache.get("b") is None and len(cache) == 0 and cache.bytes == 0
