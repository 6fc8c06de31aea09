"""PII redaction of nested data (turn traces) before it is stored or logged."""

from typing import Any

from agent.safety import redact


def redact_data(value: Any) -> Any:
    """``value`` with every string redacted; dicts, lists and tuples walked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    return value
