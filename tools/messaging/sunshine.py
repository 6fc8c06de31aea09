"""Sunshine Conversations (Zendesk messaging) REST v2: the bot's replies and hand-offs.

Calls (reference §3e), Basic auth with the app's API key id and secret:

- ``POST /v2/apps/{appId}/conversations/{id}/messages``: a business message (``author.subtypes:
  ["AI"]`` makes Zendesk show its AI disclaimer), carrying ``metadata.deskhand_key``;
- ``GET  /v2/apps/{appId}/conversations/{id}/messages``: the latest messages, read before
  re-sending a reply whose first attempt failed or lost its answer;
- ``POST /v2/apps/{appId}/conversations/{id}/passControl``: hand the conversation to the next
  switchboard integration (agents), with flat ``metadata`` (at most 4 KB);
- ``GET  /v2/apps/{appId}/conversations/{id}``: the active switchboard integration, before a
  hand-off and before re-sending one (a changed integration means it took effect).

SunCo takes no idempotency key, hence these checks-before-write. Every call has a timeout;
429, 5xx, timeouts and connection errors are retried with jittered backoff (honouring
``Retry-After``); anything else, or the last failure, is a DeliveryError.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from tools.errors import DeliveryError
from tools.retry import RetryPolicy, is_retryable, parse_retry_after

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Check = Callable[[], Awaitable[bool]]
Scalar = str | int | float | bool
KEY_FIELD = "deskhand_key"
MAX_METADATA_TEXT = 800  # characters per value: the whole object stays under SunCo's 4 KB
_MAX_ERROR_CHARS = 200


class SunshineClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        app_id: str,
        key_id: str,
        key_secret: str,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._app = f"{base_url.rstrip('/')}/v2/apps/{quote(app_id, safe='')}"
        self._auth = httpx.BasicAuth(key_id, key_secret)
        self._timeout = httpx.Timeout(timeout_s)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    async def reply(
        self, conversation_id: str, text: str, idempotency_key: str, ai_disclaimer: bool = True
    ) -> None:
        """Post the bot's message once, even when an attempt's answer was lost."""
        author: dict[str, Any] = {"type": "business"}
        if ai_disclaimer:
            author["subtypes"] = ["AI"]
        body = {
            "author": author,
            "content": {"type": "text", "text": text},
            "metadata": {KEY_FIELD: idempotency_key},
        }

        async def sent() -> bool:
            return await self._has_message(conversation_id, idempotency_key)

        await self._call("POST", f"{self._conversation(conversation_id)}/messages", body, sent)

    async def pass_control(
        self,
        conversation_id: str,
        target: str,
        metadata: Mapping[str, Any],
        idempotency_key: str,
    ) -> None:
        """Hand the conversation to ``target`` ('next', or an integration id or name)."""
        before = await self.active_integration(conversation_id)
        body = {
            "switchboardIntegration": target,
            "metadata": flat_metadata({**metadata, KEY_FIELD: idempotency_key}),
        }

        async def passed() -> bool:
            return await self.active_integration(conversation_id) != before

        path = f"{self._conversation(conversation_id)}/passControl"
        await self._call("POST", path, body, passed)

    async def active_integration(self, conversation_id: str) -> str | None:
        """The id of the conversation's active switchboard integration (None: none)."""
        answer = await self._call("GET", self._conversation(conversation_id))
        active = _field(_field(answer, "conversation"), "activeSwitchboardIntegration")
        return str(active["id"]) if isinstance(active, dict) and "id" in active else None

    async def _has_message(self, conversation_id: str, key: str) -> bool:
        answer = await self._call("GET", f"{self._conversation(conversation_id)}/messages")
        messages = _field(answer, "messages")
        if not isinstance(messages, list):
            return False
        return any(_field(_field(m, "metadata"), KEY_FIELD) == key for m in messages)

    def _conversation(self, conversation_id: str) -> str:
        return f"{self._app}/conversations/{quote(conversation_id, safe='')}"

    async def _call(
        self, method: str, url: str, body: Any = None, applied: Check | None = None
    ) -> Any:
        """The JSON answer; retried on 429/5xx/timeouts. Before re-sending a write,
        ``applied`` says whether the earlier attempt took effect after all."""
        problem = "no attempt made"
        for attempt in range(self._retry.max_retries + 1):
            if attempt and applied is not None and await applied():
                return None
            retry_after = None
            try:
                response = await self._http.request(
                    method, url, json=body, auth=self._auth, timeout=self._timeout
                )
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__} calling Sunshine Conversations"
            else:
                if response.is_success:
                    return _json(response)
                if not is_retryable(response):
                    raise DeliveryError(_refusal(method, response))
                problem = f"Sunshine Conversations answered {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt < self._retry.max_retries:
                log.warning("sunshine call failed, retrying", extra={"problem": problem})
                await self._sleep(self._retry.delay_s(attempt, None, retry_after))
        raise DeliveryError(f"{problem} (after {self._retry.max_retries + 1} attempts)")


def flat_metadata(metadata: Mapping[str, Any]) -> dict[str, Scalar]:
    """SunCo's metadata: a flat object of strings, numbers and booleans (4 KB at most)."""
    flat: dict[str, Scalar] = {}
    for name, value in metadata.items():
        if isinstance(value, str):
            flat[name] = value[:MAX_METADATA_TEXT]
        elif isinstance(value, int | float | bool):
            flat[name] = value
        elif value is not None:
            flat[name] = str(value)[:MAX_METADATA_TEXT]
    return flat


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def _json(response: httpx.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DeliveryError(
            f"Sunshine Conversations answered {response.status_code} with a body that is not JSON"
        ) from None


def _refusal(method: str, response: httpx.Response) -> str:
    """Why SunCo refused a call (its own words, shortened; never the request's headers)."""
    where = f"{method} {response.request.url.path}"
    text = response.text.strip()[:_MAX_ERROR_CHARS] or "(empty body)"
    hint = " (the conversation reached its message limit)" if response.status_code == 423 else ""
    return f"Sunshine Conversations refused {where}: {response.status_code}{hint}: {text}"
