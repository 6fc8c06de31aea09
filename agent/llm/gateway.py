"""The model-call gateway: model calls that outlive the worker process that made them.

``deskhand worker --processes N`` forks this small proxy of the OpenAI-compatible API next
to its workers, which call the model through it. A conversation's request (a POST carrying
the session header) is identified by its key (``gateway_cache.request_key``):

* identical to a request in flight: it joins that upstream call (single flight);
* identical to one answered with success in the last ``cache_s`` seconds: the stored answer;
* otherwise the gateway calls upstream, in a task of its own, which goes on when the
  client disconnects (a SIGKILLed worker) and keeps the answer for the retried turn, whose
  identical request then costs nothing.

Answers are buffered whole and passed through as they came (status, headers, body; an SSE
stream as its bytes, with its content type). Errors (4xx, 5xx, 429, timeouts, connection
failures) are never kept: the waiters of that call get them, the next request asks again.
Other requests (``GET /v1/models``, no session header) are passed through, not shared.

``GET /metrics`` is the gateway's own: its Prometheus metrics (``gateway_metrics``), never
forwarded upstream nor counted as a request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import CONTENT_TYPE_LATEST

from agent.listening import tcp_listener
from agent.llm.config import normalise_base_url
from agent.llm.gateway_cache import ResponseCache, StoredResponse, request_key
from agent.llm.gateway_metrics import GatewayMetrics, status_error_kind
from agent.llm.routing import DEFAULT_ROUTING_HEADER

if TYPE_CHECKING:
    from agent.config.settings import Settings

log = logging.getLogger(__name__)

# The session header the workers send when DESKHAND_LLM_ROUTING_HEADER is empty: it keys
# the cache and is not forwarded upstream.
PRIVATE_SESSION_HEADER = "X-Deskhand-Session"
OUTCOME_HEADER = "x-deskhand-gateway"  # miss | joined | hit | pass, on every proxied answer
METRICS_PATH = "/metrics"  # answered by the gateway itself
_HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "transfer-encoding", "upgrade", "host", "content-length",
    }
)  # fmt: skip
_NOT_FORWARDED = _HOP_BY_HOP | {"accept-encoding"}
_NOT_RETURNED = _HOP_BY_HOP | {"content-encoding"}
_SUMMARY_EVERY_S = 60.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class GatewayConfig:
    upstream: str  # the model endpoint's root URL
    session_header: str = DEFAULT_ROUTING_HEADER
    forward_session_header: bool = True  # False: the header keys the cache only
    cache_s: float = 120.0
    max_entries: int = 10_000
    max_bytes: int = 64 * 1024 * 1024
    timeout_s: float = 60.0  # a whole upstream answer takes at most connect + this
    connect_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "upstream", normalise_base_url(self.upstream))

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayConfig:
        if not settings.llm_base_url:
            raise ValueError("the model gateway needs DESKHAND_LLM_BASE_URL")
        return cls(
            upstream=settings.llm_base_url,
            session_header=settings.llm_routing_header or PRIVATE_SESSION_HEADER,
            forward_session_header=bool(settings.llm_routing_header),
            cache_s=settings.model_gateway_cache_s,
            max_entries=settings.model_gateway_cache_entries,
            max_bytes=int(settings.model_gateway_cache_mb * 1024 * 1024),
            timeout_s=settings.llm_timeout_s,
            connect_timeout_s=settings.llm_connect_timeout_s,
        )


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    target: str  # path and query string
    headers: tuple[tuple[str, str], ...]  # names in lower case
    body: bytes

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), "")


@dataclass
class GatewayStats:
    upstream_calls: int = 0
    joined: int = 0
    hits: int = 0
    errors: int = 0
    logged_at: float = field(default_factory=time.monotonic)


class ModelGateway:
    """The ASGI app. ``http`` (the upstream client) and ``clock`` (the kept answers') are
    injectable for tests."""

    def __init__(
        self,
        config: GatewayConfig,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.cache = ResponseCache(config.cache_s, config.max_entries, config.max_bytes, clock)
        self.stats = GatewayStats()
        self.metrics = GatewayMetrics(self.cache)
        self._flights: dict[str, asyncio.Task[StoredResponse]] = {}
        self._http = http or httpx.AsyncClient(
            base_url=config.upstream,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
        )

    async def aclose(self) -> None:
        for flight in list(self._flights.values()):
            flight.cancel()
        await asyncio.gather(*self._flights.values(), return_exceptions=True)
        await self._http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client left before its request was whole: nothing to ask
        request = GatewayRequest(
            method=str(scope["method"]),
            target=_target(scope),
            headers=tuple(
                (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]
            ),
            body=body,
        )
        if scope["path"] == METRICS_PATH:
            await _send(send, self._metrics(request))
            return
        response, outcome = await self.respond(request)
        await _send(send, response, outcome)

    def _metrics(self, request: GatewayRequest) -> StoredResponse:
        """The answer to ``/metrics``: this gateway's metrics, never asked upstream."""
        if request.method != "GET":
            headers = (("allow", "GET"), ("content-type", "text/plain; charset=utf-8"))
            return StoredResponse(405, headers, b"GET /metrics only\n")
        body = self.metrics.exposition()
        return StoredResponse(200, (("content-type", CONTENT_TYPE_LATEST),), body)

    async def respond(self, request: GatewayRequest) -> tuple[StoredResponse, str]:
        """The answer to ``request`` and how it was had: miss, joined, hit or pass (counted
        in the metrics under that, or under error when the answer is not a 2xx)."""
        response, outcome = await self._answer(request)
        self.metrics.answered(outcome, response.succeeded)
        return response, outcome

    async def _answer(self, request: GatewayRequest) -> tuple[StoredResponse, str]:
        key = self._key(request)
        if key is None:
            return await self._call(request), "pass"
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.hits += 1
            return cached, "hit"
        flight = self._flights.get(key)
        outcome = "joined"
        if flight is None:
            flight = asyncio.create_task(self._fly(key, request))
            self._flights[key] = flight
            outcome = "miss"
        else:
            self.stats.joined += 1
        self._summarise()
        # shield: the upstream call goes on when this asker goes (its worker was killed).
        return await asyncio.shield(flight), outcome

    def _key(self, request: GatewayRequest) -> str | None:
        session = request.header(self.config.session_header)
        if request.method != "POST" or not session:
            return None
        credentials = request.header("authorization")
        return request_key(request.method, request.target, session, credentials, request.body)

    async def _fly(self, key: str, request: GatewayRequest) -> StoredResponse:
        try:
            response = await self._call(request)
            self.cache.put(key, response)
            return response
        finally:
            self._flights.pop(key, None)

    async def _call(self, request: GatewayRequest) -> StoredResponse:
        self.stats.upstream_calls += 1
        started = time.monotonic()
        deadline_s = self.config.connect_timeout_s + self.config.timeout_s
        try:
            with self.metrics.upstream_in_flight.track_inprogress():
                async with asyncio.timeout(deadline_s):
                    answer = await self._http.request(
                        request.method,
                        request.target,
                        headers=self._forwarded(request),
                        content=request.body,
                    )
        except (httpx.HTTPError, TimeoutError) as error:
            self.stats.errors += 1
            timed_out = isinstance(error, TimeoutError | httpx.TimeoutException)
            kind = "timeout" if timed_out else "connection"
            self.metrics.upstream_call(time.monotonic() - started, kind)
            detail = f"timed out after {deadline_s:g} s" if timed_out else _describe(error)
            log.warning(
                "model gateway: upstream call failed",
                extra={"target": request.target, "error": detail},
            )
            return _error(504 if timed_out else 502, f"model gateway: upstream {detail}")
        seconds = time.monotonic() - started
        error_kind = status_error_kind(answer.status_code)
        if error_kind is not None:
            self.stats.errors += 1
        self.metrics.upstream_call(seconds, error_kind)
        log.debug(
            "model gateway: upstream answered",
            extra={
                "target": request.target,
                "status": answer.status_code,
                "seconds": round(seconds, 3),
            },
        )
        headers = tuple(
            (name.lower(), value)
            for name, value in answer.headers.multi_items()
            if name.lower() not in _NOT_RETURNED
        )
        return StoredResponse(answer.status_code, headers, answer.content)

    def _forwarded(self, request: GatewayRequest) -> list[tuple[str, str]]:
        dropped = set(_NOT_FORWARDED)
        if not self.config.forward_session_header:
            dropped.add(self.config.session_header.lower())
        headers = [(name, value) for name, value in request.headers if name not in dropped]
        return [*headers, ("accept-encoding", "identity")]  # bytes passed through as they are

    def _summarise(self) -> None:
        stats = self.stats
        if time.monotonic() - stats.logged_at < _SUMMARY_EVERY_S:
            return
        stats.logged_at = time.monotonic()
        log.info(
            "model gateway: calls so far",
            extra={
                "upstream_calls": stats.upstream_calls,
                "joined": stats.joined,
                "cache_hits": stats.hits,
                "errors": stats.errors,
                "cached": len(self.cache),
                "cached_bytes": self.cache.bytes,
            },
        )


def _target(scope: Scope) -> str:
    path = scope.get("raw_path") or str(scope["path"]).encode("utf-8")
    query = scope.get("query_string") or b""
    target = bytes(path).decode("latin-1")
    return f"{target}?{bytes(query).decode('latin-1')}" if query else target


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client disconnected before sending it all."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, response: StoredResponse, outcome: str | None = None) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
    ]
    headers.append((b"content-length", str(len(response.body)).encode()))
    if outcome is not None:
        headers.append((OUTCOME_HEADER.encode(), outcome.encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _error(status: int, message: str) -> StoredResponse:
    """An OpenAI-style error body, as the model server would send it."""
    body = {"error": {"message": message, "type": "APIError", "param": None, "code": status}}
    return StoredResponse(
        status, (("content-type", "application/json"),), json.dumps(body).encode("utf-8")
    )


def _describe(error: BaseException) -> str:
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


# --- the gateway's process ---------------------------------------------------------------


def bind_gateway_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """The gateway's listening socket, bound by the supervisor before it forks: the port
    outlives a gateway process, and the workers' connections wait in its backlog while a
    replacement starts."""
    sock = tcp_listener(host, port, backlog=1024)
    sock.set_inheritable(True)
    return sock


def gateway_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


def run_gateway(sock: socket.socket, config: GatewayConfig, announce: Callable[[str], None]) -> int:
    """Serve the gateway on ``sock`` until SIGTERM (runs in a forked process)."""
    asyncio.run(_serve(sock, config, announce))
    return 0


async def _serve(
    sock: socket.socket, config: GatewayConfig, announce: Callable[[str], None]
) -> None:
    import uvicorn

    gateway = ModelGateway(config)
    server = uvicorn.Server(
        uvicorn.Config(
            gateway,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=75,
            timeout_graceful_shutdown=int(config.connect_timeout_s + config.timeout_s),
        )
    )
    announce(
        f"model gateway process {os.getpid()} ready at {gateway_url(sock)} for {config.upstream} "
        f"(answers kept {config.cache_s:g} s)"
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        await gateway.aclose()
