"""One HTTP tool call: bounded in time and size, retried when the backend falters.

- No redirect is followed (a 3xx is a system failure naming where it pointed).
- Each attempt has a deadline for the whole exchange (headers and body), and the body is
  read in chunks and abandoned past ``max_response_bytes``.
- 404 → ToolInputError "not found"; 401/403 → ToolExecutionError (credentials are the
  operator's to fix, not the model's); other 4xx → ToolInputError with the API's short
  reason; 429, 5xx, timeouts and connection errors → retried with backoff, then
  ToolExecutionError. A 2xx body that is not JSON is a ToolExecutionError.
"""

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.errors import ToolExecutionError
from tools.http_tools.pool import HttpPool
from tools.registry import ToolInputError
from tools.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_REASON_CHARS = 200
_REASON_KEYS = ("detail", "error", "message", "title", "reason")
_RNG = random.Random()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    json_body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bounds:
    timeout_s: float = 10.0
    max_response_bytes: int = 1_000_000
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes


class _Retryable(Exception):
    def __init__(self, problem: str, retry_after_s: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after_s = retry_after_s


async def call_json(
    tool: str, request: HttpRequest, bounds: Bounds, pool: HttpPool, sleep: Sleep = asyncio.sleep
) -> Any:
    """The parsed JSON answer (None for an empty body), or a typed tools error; the
    connection comes from ``pool``."""
    attempts = bounds.retry.max_retries + 1
    problem = "no attempt made"
    for attempt in range(attempts):
        try:
            answer = await _attempt(request, bounds, pool)
            return _result(tool, answer)
        except _Retryable as error:
            problem = str(error)
            if attempt + 1 < attempts:
                log.warning("tool call failed, retrying", extra={"tool": tool, "problem": problem})
                await sleep(bounds.retry.delay_s(attempt, _RNG, error.retry_after_s))
    raise ToolExecutionError(f"tool {tool}: {problem} (after {attempts} attempts)")


async def _attempt(request: HttpRequest, bounds: Bounds, pool: HttpPool) -> _Answer:
    try:
        async with asyncio.timeout(bounds.timeout_s):
            answer = await _exchange(request, bounds, pool)
    except TimeoutError:
        raise _Retryable(f"no complete answer within {bounds.timeout_s:g}s") from None
    except httpx.TransportError as error:
        raise _Retryable(f"{type(error).__name__} calling the API") from None
    if answer.status in RETRYABLE_STATUS:
        retry_after = parse_retry_after(answer.headers.get("retry-after"))
        raise _Retryable(f"the API answered {answer.status}", retry_after)
    return answer


async def _exchange(request: HttpRequest, bounds: Bounds, pool: HttpPool) -> _Answer:
    async with pool.client().stream(
        request.method,
        request.url,
        params=dict(request.params),
        json=dict(request.json_body) if request.json_body is not None else None,
        headers=dict(request.headers),
        timeout=httpx.Timeout(bounds.timeout_s),
        follow_redirects=False,
    ) as response:
        body = await _read_bounded(response, bounds.max_response_bytes)
        return _Answer(response.status_code, response.headers, body)


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ToolExecutionError(f"the API's answer is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ToolExecutionError(f"the API's answer is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _result(tool: str, answer: _Answer) -> Any:
    status = answer.status
    if 200 <= status < 300:
        return _json(tool, answer)
    if 300 <= status < 400:
        where = answer.headers.get("location", "elsewhere")
        raise ToolExecutionError(f"tool {tool}: the API redirected to {where!r}; not followed")
    reason = _reason(answer)
    if status == 404:
        raise ToolInputError(f"not found: {reason}" if reason else "not found")
    if status in (401, 403, 407):
        raise ToolExecutionError(f"tool {tool}: the API refused the credentials ({status})")
    raise ToolInputError(f"the request was refused ({status}): {reason or 'no reason given'}")


def _json(tool: str, answer: _Answer) -> Any:
    if not answer.body.strip():
        return None
    try:
        return json.loads(answer.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        kind = answer.headers.get("content-type", "no content type")
        raise ToolExecutionError(
            f"tool {tool}: the API answered {answer.status} with a body that is not JSON ({kind})"
        ) from None


def _reason(answer: _Answer) -> str:
    """The API's own short words about an error (never headers; at most 200 characters)."""
    try:
        data = json.loads(answer.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        for key in _REASON_KEYS:
            value = data.get(key)
            text = _words(value)
            if text:
                return _short(text)
    if isinstance(data, str):
        return _short(data)
    is_text = answer.headers.get("content-type", "").startswith("text/plain")
    return _short(answer.body.decode("utf-8", "replace")) if is_text else ""


def _words(value: object) -> str:
    """A reason from a string, ``{"message": ...}`` or a list of ``{"loc", "msg"}`` problems."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return _words(value.get("message") or value.get("msg"))
    if isinstance(value, list):
        parts = [_problem(item) for item in value[:5]]
        return "; ".join(part for part in parts if part)
    return ""


def _problem(item: object) -> str:
    if not isinstance(item, dict):
        return _words(item)
    where = item.get("loc")
    field = str(where[-1]) if isinstance(where, list) and where else ""
    message = _words(item.get("msg") or item.get("message"))
    return f"{field}: {message}" if field and message else message


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"
