"""Errors of the model client. Vendor and transport errors are translated here."""

from agent.errors import DeskhandError


class LLMError(DeskhandError):
    """Base class of every model-client error."""


class ModelUnavailable(LLMError):
    """The endpoint could not answer (connection, timeout, 429/5xx after retries)."""


class CircuitOpen(ModelUnavailable):
    """Recent calls kept failing; calls are refused until the circuit's cool-down ends."""


class ModelRequestRejected(LLMError):
    """The endpoint rejected the request (a 4xx other than 429); retrying will not help."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"model endpoint answered {status_code}: {message}")
        self.status_code = status_code


class ModelResponseInvalid(LLMError):
    """The endpoint answered 2xx with a body that is not a usable chat completion."""


class ToolArgumentsInvalid(LLMError):
    """The model's tool-call arguments stayed invalid after one corrective re-prompt."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        # tool-call id -> what was wrong with it, for the trace
        self.errors: dict[str, str] = dict(errors or {})
