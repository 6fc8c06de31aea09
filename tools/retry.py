"""Bounded, jittered retries for outbound HTTP calls."""

import random
from dataclasses import dataclass

import httpx

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    base_s: float = 0.5
    max_s: float = 10.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        ceiling = min(self.max_s, self.base_s * 2**attempt)
        hinted = _retry_after_seconds(retry_after)
        if hinted is not None:
            return min(self.max_s, hinted)
        return random.uniform(0, ceiling)


def is_retryable(response: httpx.Response) -> bool:
    return response.status_code in RETRYABLE_STATUS


def _retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to the policy's own backoff
