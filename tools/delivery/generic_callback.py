"""The generic channel's outbound half: a signed POST to the tenant's callback URL.

Each event carries a stable ``webhook-id`` (its idempotency key), so a receiver can
drop the duplicate when a retry follows a delivery whose answer was lost.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tools.errors import DeliveryError
from tools.retry import RetryPolicy, is_retryable, parse_retry_after
from tools.signing.standard_webhooks import signed_headers

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class GenericCallbackClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._timeout = httpx.Timeout(timeout_s)
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    async def send(self, url: str, secret: str, event: dict[str, Any], event_id: str) -> None:
        """Deliver one event, retrying 429/5xx and connection errors; raise DeliveryError."""
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        problem = "no attempt made"
        for attempt in range(self._retry.max_retries + 1):
            headers = {"content-type": "application/json"}
            headers |= signed_headers(secret, body, webhook_id=event_id).as_dict()
            retry_after = None
            try:
                response = await self._http.post(
                    url, content=body, headers=headers, timeout=self._timeout
                )
            except httpx.HTTPError as error:
                problem = f"{type(error).__name__} connecting to the callback URL"
            else:
                if response.is_success:
                    return
                if not is_retryable(response):
                    raise DeliveryError(f"callback URL answered {response.status_code}")
                problem = f"callback URL answered {response.status_code}"
                retry_after = response.headers.get("retry-after")
            if attempt < self._retry.max_retries:
                log.warning("callback delivery failed, retrying", extra={"problem": problem})
                await self._sleep(
                    self._retry.delay_s(attempt, None, parse_retry_after(retry_after))
                )
        raise DeliveryError(f"{problem} (after {self._retry.max_retries + 1} attempts)")
