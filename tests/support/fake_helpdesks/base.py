"""What every fake helpdesk shares: a real HTTP server, recorded requests, injected faults.

A fake implements the documented endpoints a client uses (paths, auth, request and
response JSON) with in-memory state. Tests inject the failures the platform documents:
``fail_next(429, retry_after=2)``, ``fail_next(500, times=2)``, ``stall_next(seconds)``
(a timeout), ``malformed_next()`` (a 200 whose body is not JSON), ``lose_answer_next(seconds)``
(the request is applied, then its answer stalls: what check-before-write is for). Each takes
optional ``method=``/``path=`` so the fault hits the first matching request, not just the next.
``directory`` names ids that exist on the platform (an agent, groups) for the contract suite.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.background_server import BackgroundServer

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass
class _Fault:
    status: int = 0
    retry_after: str | None = None
    body: Any = None
    stall_s: float = 0.0
    malformed: bool = False
    after_handler: bool = False  # apply the request, then stall its answer
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.method in (None, method) and self.path in (None, path)


@dataclass(frozen=True)
class Directory:
    """Ids that exist on the platform: an agent to assign, a group (team) and a hand-off group."""

    agent_id: str = "agent-1"
    group_id: str = "group-1"
    handoff_group_id: str = "group-2"


@dataclass
class FakeHelpdesk:
    """Subclasses add routes with ``route(method, path, handler)`` before ``start()``."""

    name: str
    requests: list[Recorded] = field(default_factory=list)
    _routes: list[Route] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _server: BackgroundServer | None = None
    directory: Directory = field(default_factory=Directory)

    def route(self, method: str, path: str, handler: Handler) -> None:
        async def recorded(request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode(errors="replace")
            self.requests.append(
                Recorded(
                    request.method,
                    request.url.path,
                    dict(request.headers),
                    dict(request.query_params),
                    body,
                )
            )
            fault = self._take_fault(request.method, request.url.path)
            if fault is None:
                return await handler(request)
            if fault.after_handler:
                response = await handler(request)
                await asyncio.sleep(fault.stall_s)
                return response
            return await _apply(fault)

        self._routes.append(Route(path, recorded, methods=[method]))

    # --- fault injection -------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: str | None = None,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        fault = _Fault(status, retry_after, body, method=method, path=path)
        self._faults.extend(replace(fault) for _ in range(times))

    def stall_next(
        self, seconds: float, times: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        fault = _Fault(stall_s=seconds, method=method, path=path)
        self._faults.extend(replace(fault) for _ in range(times))

    def malformed_next(self, *, method: str | None = None, path: str | None = None) -> None:
        self._faults.append(_Fault(malformed=True, method=method, path=path))

    def lose_answer_next(
        self, seconds: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Apply the next (matching) request, then hold its answer ``seconds`` (a lost answer)."""
        self._faults.append(_Fault(stall_s=seconds, after_handler=True, method=method, path=path))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.matches(method, path):
                return self._faults.pop(index)
        return None

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> str:
        self._server = BackgroundServer(Starlette(routes=self._routes), name=f"fake-{self.name}")
        self._server.start()
        return self._server.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]


async def _apply(fault: _Fault) -> Response:
    if fault.stall_s:
        await asyncio.sleep(fault.stall_s)
        return JSONResponse({"error": "stalled"}, status_code=504)
    if fault.malformed:
        return Response("<html>not json</html>", status_code=200, media_type="text/html")
    headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
    body = fault.body if fault.body is not None else {"error": f"injected {fault.status}"}
    return JSONResponse(body, status_code=fault.status, headers=headers)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    return json.loads(raw) if raw else None
