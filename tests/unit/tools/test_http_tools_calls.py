"""HTTP tools against a real local server: encoding, scope, redirects, bounds, error mapping."""

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from agent.background_server import BackgroundServer
from tools.context import Customer, ToolContext
from tools.errors import ToolExecutionError
from tools.http_tools.loader import load_tools_file
from tools.registry import ToolRegistry

ALEX = ToolContext("acme", "acme:generic:c1", Customer("cust_1", "alex@example.com"))
RETRY = {"max_retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.02}


class Backend:
    """Records what arrives (raw path, query, headers, body) and answers per route."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.flaky_failures = 0

    async def record(self, request: Request) -> dict[str, Any]:
        seen = {
            "raw_path": request.scope["raw_path"].decode(),
            "query": list(request.query_params.multi_items()),
            "headers": dict(request.headers),
            "body": (await request.body()).decode(),
            "peer": request.client.port if request.client else None,  # the connection
        }
        self.seen.append(seen)
        return seen

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/echo/{rest:path}", self.echo, methods=["GET", "POST", "PUT"]),
                Route("/api/status/{code:int}", self.status),
                Route("/api/flaky", self.flaky),
                Route("/api/redirect", self.redirect),
                Route("/api/big", self.big),
                Route("/api/slow", self.slow),
                Route("/api/drip", self.drip),
                Route("/api/html", self.html),
                Route("/api/empty", self.empty),
            ]
        )

    async def echo(self, request: Request) -> Response:
        return JSONResponse({"seen": await self.record(request), "extra": {"secret": "x"}})

    async def status(self, request: Request) -> Response:
        await self.record(request)
        code = int(request.path_params["code"])
        bodies: dict[int, Response] = {
            400: PlainTextResponse("the date is in the past", 400),
            422: JSONResponse(
                {"detail": [{"loc": ["body", "amount"], "msg": "must be positive"}]}, 422
            ),
            429: JSONResponse({"error": "slow down"}, 429, headers={"Retry-After": "0"}),
        }
        return bodies.get(code, JSONResponse({"detail": f"answered {code}"}, code))

    async def flaky(self, request: Request) -> Response:
        await self.record(request)
        if self.flaky_failures > 0:
            self.flaky_failures -= 1
            return JSONResponse({"detail": "overloaded"}, 503)
        return JSONResponse({"ok": True})

    async def redirect(self, request: Request) -> Response:
        await self.record(request)
        return RedirectResponse("http://evil.example/steal", 302)

    async def big(self, request: Request) -> Response:
        chunked = request.query_params.get("chunked") == "true"
        payload = json.dumps({"blob": "x" * 300_000}).encode()
        if not chunked:
            return Response(payload, media_type="application/json")

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(payload), 10_000):
                yield payload[start : start + 10_000]

        return StreamingResponse(chunks(), media_type="application/json")

    async def slow(self, request: Request) -> Response:
        await self.record(request)
        await asyncio.sleep(1.5)
        return JSONResponse({"late": True})

    async def drip(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"a": "'
            for _ in range(30):
                await asyncio.sleep(0.05)
                yield b"x"
            yield b'"}'

        return StreamingResponse(chunks(), media_type="application/json")

    async def html(self, request: Request) -> Response:
        return Response("<html>maintenance</html>", media_type="text/html")

    async def empty(self, request: Request) -> Response:
        return Response(status_code=204)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Backend, BackgroundServer]]:
    backend = Backend()
    with BackgroundServer(backend.app(), name="tools-backend") as running:
        yield backend, running


@pytest.fixture
def backend(server: tuple[Backend, BackgroundServer]) -> Backend:
    server[0].seen.clear()
    server[0].flaky_failures = 0
    return server[0]


def tool(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"description": "A test tool.", "method": method, "path": path, **extra}


def registry(
    tmp_path: Path,
    server: tuple[Backend, BackgroundServer],
    tools: dict[str, Any],
    **backend: Any,
) -> ToolRegistry:
    spec = {
        "base_url": f"{server[1].base_url}/api",
        "timeout_s": 1,
        "retry": RETRY,
        **backend,
    }
    path = tmp_path / "tools.yaml"
    path.write_text(yaml.safe_dump({"backends": {"api": spec}, "tools": tools}))
    return ToolRegistry(load_tools_file(path, allowed_hosts=["127.0.0.1"], environ={}))


ECHO = {
    "echo": tool(
        "/echo/{id}",
        parameters={"id": {"type": "string"}, "q": {"type": "string", "required": False}},
        customer_scope={"param": "email", "from": "email"},
    )
}


async def test_calls_share_the_pools_connection_and_each_pool_has_its_own(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    """One client per pool, its connection kept alive between calls (a client per call
    parsed the CA bundle each time: a third of a worker's CPU)."""
    tools = registry(tmp_path, server, ECHO)
    for _ in range(3):
        assert (await tools.invoke("echo", {"id": "1"}, ALEX)).ok
    assert (await registry(tmp_path, server, ECHO).invoke("echo", {"id": "1"}, ALEX)).ok
    peers = [seen["peer"] for seen in backend.seen]
    assert peers[0] is not None
    assert peers[:3] == [peers[0]] * 3
    assert peers[3] != peers[0]


@pytest.mark.parametrize(
    "value", ["%2F", "@evil.com", "?x=1", "#frag", "a b", "BL-1&admin=true", "..%2F..", "é;x=1"]
)
async def test_path_values_stay_one_segment_on_the_allowed_host(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend, value: str
) -> None:
    outcome = await registry(tmp_path, server, ECHO).invoke("echo", {"id": value}, ALEX)
    assert outcome.ok, outcome.content
    (seen,) = backend.seen  # it reached this server, not another host
    assert seen["raw_path"] == "/api/echo/" + quote(value, safe="")
    assert seen["query"] == [("email", "alex@example.com")]


@pytest.mark.parametrize("value", ["../", "../admin", "..", ".", "a/b", "a\\b", ""])
async def test_path_values_that_could_climb_are_refused(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend, value: str
) -> None:
    outcome = await registry(tmp_path, server, ECHO).invoke("echo", {"id": value}, ALEX)
    assert not outcome.ok and "not a valid value" in outcome.content
    assert backend.seen == []


async def test_query_values_are_encoded_and_the_scope_cannot_be_overridden(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    arguments = {"id": "1", "q": "a&email=sam@example.com", "email": "sam@example.com"}
    outcome = await registry(tmp_path, server, ECHO).invoke("echo", arguments, ALEX)
    assert outcome.ok
    assert backend.seen[0]["query"] == [
        ("q", "a&email=sam@example.com"),
        ("email", "alex@example.com"),
    ]


async def test_without_a_verified_customer_no_request_is_made(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    anonymous = ToolContext("acme", "acme:generic:c2", None)
    outcome = await registry(tmp_path, server, ECHO).invoke("echo", {"id": "1"}, anonymous)
    assert not outcome.ok and backend.seen == []


async def test_bodies_auth_and_idempotency_keys(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools = {
        "write": tool(
            "/echo/{id}",
            "POST",
            parameters={"id": {"type": "string"}, "amount": {"type": "number"}},
            customer_scope={"param": "customer_id", "from": "id", "in": "body"},
        ),
        "read": tool("/echo/{id}", parameters={"id": {"type": "string"}}),
    }
    auth = {"basic": {"username": "deskhand", "password": "s3cret"}}
    tools_registry = registry(tmp_path, server, tools, auth=auth, headers={"X-Tenant": "acme"})
    await tools_registry.invoke("write", {"id": "7", "amount": 12.5}, ALEX)
    await tools_registry.invoke("write", {"id": "7", "amount": 12.5}, ALEX)
    await tools_registry.invoke("read", {"id": "7"}, ALEX)
    first, second, read = backend.seen
    assert json.loads(first["body"]) == {"amount": 12.5, "customer_id": "cust_1"}
    token = base64.b64encode(b"deskhand:s3cret").decode()
    assert first["headers"]["authorization"] == f"Basic {token}"
    assert first["headers"]["x-tenant"] == "acme"
    key = first["headers"]["idempotency-key"]
    assert key.startswith("dh_") and second["headers"]["idempotency-key"] == key
    assert "idempotency-key" not in read["headers"]


async def test_response_selectors_keep_only_what_is_named(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools = {"echo": {**ECHO["echo"], "response": ["seen.raw_path", "seen.query[*]"]}}
    outcome = await registry(tmp_path, server, tools).invoke("echo", {"id": "1"}, ALEX)
    assert outcome.content == {
        "seen": {"raw_path": "/api/echo/1", "query": [["email", "alex@example.com"]]}
    }


async def test_redirects_are_not_followed(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools_registry = registry(tmp_path, server, {"r": tool("/redirect")})
    with pytest.raises(ToolExecutionError, match=r"redirected to 'http://evil\.example/steal'"):
        await tools_registry.invoke("r", {}, ALEX)
    assert len(backend.seen) == 1


@pytest.mark.parametrize("chunked", [False, True])
async def test_responses_past_the_size_limit_are_abandoned(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend, chunked: bool
) -> None:
    big = {"big": tool("/big", parameters={"chunked": {"type": "boolean"}})}
    tools_registry = registry(tmp_path, server, big, max_response_bytes=100_000)
    with pytest.raises(ToolExecutionError, match="larger than 100000 bytes"):
        await tools_registry.invoke("big", {"chunked": chunked}, ALEX)
    roomy = registry(tmp_path, server, big, max_response_bytes=1_000_000)
    assert (await roomy.invoke("big", {"chunked": chunked}, ALEX)).ok


async def test_slow_answers_are_retried_then_fail(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools_registry = registry(tmp_path, server, {"slow": tool("/slow")}, timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(ToolExecutionError, match=r"within 0\.3s \(after 2 attempts\)"):
        await tools_registry.invoke("slow", {}, ALEX)
    assert time.monotonic() - started < 1.2
    assert len(backend.seen) == 2


async def test_a_body_that_drips_in_is_bounded_in_time(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    # Each chunk comes well within the read timeout; the whole answer does not.
    tools_registry = registry(
        tmp_path, server, {"drip": tool("/drip")}, timeout_s=0.5, retry={"max_retries": 0}
    )
    started = time.monotonic()
    with pytest.raises(ToolExecutionError, match="no complete answer within"):
        await tools_registry.invoke("drip", {}, ALEX)
    assert time.monotonic() - started < 1.2


async def test_server_errors_are_retried(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools_registry = registry(tmp_path, server, {"flaky": tool("/flaky")})
    backend.flaky_failures = 1
    assert (await tools_registry.invoke("flaky", {}, ALEX)).ok
    backend.flaky_failures = 5
    with pytest.raises(ToolExecutionError, match=r"answered 503 \(after 2 attempts"):
        await tools_registry.invoke("flaky", {}, ALEX)
    assert len(backend.seen) == 4


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (404, "not found: answered 404"),
        (409, "the request was refused (409): answered 409"),
        (400, "the request was refused (400): the date is in the past"),
        (422, "the request was refused (422): amount: must be positive"),
    ],
)
async def test_client_errors_are_messages_the_model_can_act_on(
    tmp_path: Path,
    server: tuple[Backend, BackgroundServer],
    backend: Backend,
    code: int,
    message: str,
) -> None:
    tools_registry = registry(tmp_path, server, {"s": tool(f"/status/{code}")})
    outcome = await tools_registry.invoke("s", {}, ALEX)
    assert (outcome.ok, outcome.content) == (False, message)
    assert len(backend.seen) == 1  # not retried


@pytest.mark.parametrize("code", [401, 403])
async def test_refused_credentials_are_a_system_failure(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend, code: int
) -> None:
    tools_registry = registry(tmp_path, server, {"s": tool(f"/status/{code}")})
    with pytest.raises(ToolExecutionError, match=f"refused the credentials \\({code}\\)"):
        await tools_registry.invoke("s", {}, ALEX)


async def test_too_many_requests_is_retried(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools_registry = registry(tmp_path, server, {"s": tool("/status/429")})
    with pytest.raises(ToolExecutionError, match="answered 429"):
        await tools_registry.invoke("s", {}, ALEX)
    assert len(backend.seen) == 2


async def test_non_json_and_empty_answers(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    tools_registry = registry(tmp_path, server, {"html": tool("/html"), "empty": tool("/empty")})
    with pytest.raises(ToolExecutionError, match=r"not JSON \(text/html"):
        await tools_registry.invoke("html", {}, ALEX)
    empty = await tools_registry.invoke("empty", {}, ALEX)
    assert empty.ok and empty.content is None


async def test_an_unreachable_backend_is_a_system_failure(tmp_path: Path) -> None:
    from tests.support.redis_server import free_port

    path = tmp_path / "tools.yaml"
    spec = {"base_url": f"http://127.0.0.1:{free_port()}/api", "retry": RETRY}
    path.write_text(yaml.safe_dump({"backends": {"api": spec}, "tools": {"t": tool("/x")}}))
    tools_registry = ToolRegistry(load_tools_file(path, allowed_hosts=["127.0.0.1"]))
    with pytest.raises(ToolExecutionError, match="ConnectError"):
        await tools_registry.invoke("t", {}, ALEX)


async def test_the_scope_may_travel_in_a_header(
    tmp_path: Path, server: tuple[Backend, BackgroundServer], backend: Backend
) -> None:
    scoped = {
        "t": tool(
            "/echo/me", customer_scope={"param": "X-Customer-Id", "from": "id", "in": "header"}
        )
    }
    outcome = await registry(tmp_path, server, scoped).invoke("t", {"X-Customer-Id": "c9"}, ALEX)
    assert outcome.ok
    assert backend.seen[0]["headers"]["x-customer-id"] == "cust_1"
    assert backend.seen[0]["query"] == []
