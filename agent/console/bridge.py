"""The console's one way to data: the /admin/v1 API, called in-process with the session's
token, so pages see and do exactly what the API allows that token."""

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from agent.errors import DeskhandError

_BASE = "http://console.internal"


class ConsoleApiError(DeskhandError):
    """The API refused or failed a console call; ``status`` and the API's own message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class AdminApi:
    """An API client bound to one request's session token."""

    client: httpx.AsyncClient

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return _json_or_raise(await self.client.get(path, params=clean))

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return _json_or_raise(await self.client.post(path, json=body or {}))

    async def delete(self, path: str) -> Any:
        return _json_or_raise(await self.client.delete(path))


def admin_api(request: Request, token: str, timeout_s: float = 30.0) -> AdminApi:
    transport = httpx.ASGITransport(app=request.app)
    client = httpx.AsyncClient(
        transport=transport,
        base_url=_BASE,
        headers={"authorization": f"Bearer {token}"},
        timeout=timeout_s,
    )
    return AdminApi(client)


def _json_or_raise(response: httpx.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) else None
        raise ConsoleApiError(response.status_code, str(message or response.reason_phrase))
    return data
