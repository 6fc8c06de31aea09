"""When and how long to wait before trying the model endpoint again."""

import json
from typing import Any

from agent.llm.errors import LLMError
from tools.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "TransientFailure", "error_text", "parse_retry_after"]

_MAX_ERROR_CHARS = 300


class TransientFailure(LLMError):
    """One attempt failed in a way that a retry may fix. Never leaves the client."""

    def __init__(self, description: str, retry_after_s: float | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.retry_after_s = retry_after_s


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
