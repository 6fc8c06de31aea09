"""What every fake helpdesk shares: a real HTTP server, recorded requests, injected faults.

A fake implements the documented endpoints a client uses (paths, auth, request and
response JSON) with in-memory state. Tests inject the failures the platform documents:
``fail_next(429, retry_after=2)``, ``fail_next(500, times=2)``, ``stall_next(seconds)``
(a timeout), ``malformed_next()`` (a 200 whose body is not JSON).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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


@dataclass
class FakeHelpdesk:
    """Subclasses add routes with ``route(method, path, handler)`` before ``start()``."""

    name: str
    requests: list[Recorded] = field(default_factory=list)
    _routes: list[Route] = field(default_factory=list)
    _faults: list[_Fault] = field(default_factory=list)
    _server: BackgroundServer | None = None

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
            fault = self._faults.pop(0) if self._faults else None
            if fault is not None:
                return await _apply(fault)
            return await handler(request)

        self._routes.append(Route(path, recorded, methods=[method]))

    # --- fault injection -------------------------------------------------------------
    def fail_next(
        self, status: int, times: int = 1, retry_after: str | None = None, body: Any = None
    ) -> None:
        self._faults.extend(_Fault(status, retry_after, body) for _ in range(times))

    def stall_next(self, seconds: float, times: int = 1) -> None:
        self._faults.extend(_Fault(stall_s=seconds) for _ in range(times))

    def malformed_next(self) -> None:
        self._faults.append(_Fault(malformed=True))

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
