"""The HTTP core every helpdesk client shares: timeouts, retries, error translation.

- Every request has a timeout; 429, 5xx, timeouts and connection errors are retried with
  jittered backoff, honouring ``Retry-After``; after the last attempt HelpdeskUnavailable.
- 401/403 → HelpdeskAuthError, 404 → TicketNotFound, other 4xx → HelpdeskRejected with
  the platform's message; a 2xx body that is not JSON → HelpdeskResponseInvalid.
- A write that may have reached the server before its answer was lost is retried only
  after ``already_applied`` (a check-before-write) says it did not happen.
- Credentials live in the client's headers or auth and are never logged.
"""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from tools.errors import (
    HelpdeskAuthError,
    HelpdeskRejected,
    HelpdeskResponseInvalid,
    HelpdeskUnavailable,
    TicketNotFound,
)
from tools.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after
from tools.tls import default_tls_context

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
AlreadyApplied = Callable[[], Awaitable[Any | None]]
_MAX_MESSAGE_CHARS = 300


class HelpdeskHttp:
    def __init__(
        self,
        platform: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.platform = platform
        self._retry = retry or RetryPolicy(max_retries=3)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
            verify=default_tls_context(),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        already_applied: AlreadyApplied | None = None,
    ) -> Any:
        """The parsed JSON answer (None for an empty body), or a typed TicketingError."""
        problem = "no attempt made"
        for attempt in range(self._retry.max_retries + 1):
            if attempt and already_applied is not None:
                done = await already_applied()
                if done is not None:
                    return done
            try:
                response = await self._http.request(
                    method, path, json=json_body, params=params, headers=headers
                )
            except httpx.TransportError as error:
                problem, retry_after = f"{type(error).__name__}", None
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return self.parse_response(response)
                problem = f"answered {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt < self._retry.max_retries:
                delay = self._retry.delay_s(attempt, self._rng, retry_after)
                log.warning(
                    "helpdesk call failed, retrying",
                    extra={"platform": self.platform, "path": path, "problem": problem},
                )
                await self._sleep(delay)
        attempts = self._retry.max_retries + 1
        raise HelpdeskUnavailable(
            f"{self.platform} {method} {path}: {problem} (after {attempts} attempts)"
        )

    def parse_response(self, response: httpx.Response) -> Any:
        """A final answer as data, or its typed error. Subclasses may extend it to read
        headers a platform answers with (Help Scout's ``Resource-ID``, say)."""
        status = response.status_code
        if 200 <= status < 300:
            return _json(self.platform, response)
        message = _message(response)
        where = f"{self.platform} {response.request.method} {response.request.url.path}"
        if status in (401, 403):
            raise HelpdeskAuthError(f"{where}: credentials refused ({status}): {message}")
        if status == 404:
            raise TicketNotFound(f"{where}: not found")
        if 300 <= status < 400:
            raise HelpdeskRejected(status, f"{where}: redirect refused")
        raise HelpdeskRejected(status, f"{where}: {message}")


def _json(platform: str, response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HelpdeskResponseInvalid(
            f"{platform} answered {response.status_code} with a body that is not JSON"
        ) from None


def _message(response: httpx.Response) -> str:
    """The platform's own words about an error, shortened (never the request's headers)."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip() or "(empty body)"
    else:
        text = json.dumps(data, ensure_ascii=False) if not isinstance(data, str) else data
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 1] + "…"
