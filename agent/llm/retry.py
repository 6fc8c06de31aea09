"""When and how long to wait before trying the model endpoint again."""

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from agent.llm.errors import LLMError

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_MAX_ERROR_CHARS = 300


class TransientFailure(LLMError):
    """One attempt failed in a way that a retry may fix. Never leaves the client."""

    def __init__(self, description: str, retry_after_s: float | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with full-jitter exponential backoff, honouring ``Retry-After``."""

    max_retries: int
    backoff_base_s: float
    backoff_max_s: float

    def delay_s(self, retry: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2**retry)
        return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_text(body: bytes | str) -> str:
    """The human part of an error body (OpenAI, vLLM or FastAPI shape), shortened."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except ValueError:
        return _shorten(text.strip() or "(empty body)")
    return _shorten(_message_of(data) or text.strip())


def _message_of(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    for key in ("message", "detail"):
        if isinstance(data.get(key), str):
            return str(data[key])
    return None


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"
