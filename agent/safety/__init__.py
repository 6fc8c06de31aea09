"""Deterministic safety checks for the guard, understand and respond nodes.

Pure Python, no model: personal data (``find_pii``, ``redact``), prompt injection and
abuse (``inspect_message``), sensitive topics and negative sentiment
(``sensitive_topic``, ``is_negative``), the message's language (``detect_language``),
how well a reply is grounded in its sources (``check_grounding``), and a logging
filter that redacts personal data (``PiiRedactingFilter``).

The names are imported on first use, so that importing one module (the logging
filter, say) does not compile every check's patterns.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.safety.grounding import GroundingResult, check_grounding
    from agent.safety.injection import GuardVerdict, inspect_message
    from agent.safety.language import detect_language
    from agent.safety.logging_filter import PiiRedactingFilter
    from agent.safety.pii import PiiMatch, find_pii, redact, redact_nested
    from agent.safety.topics import is_negative, sensitive_topic

_HOMES = {
    "GroundingResult": "grounding",
    "check_grounding": "grounding",
    "GuardVerdict": "injection",
    "inspect_message": "injection",
    "detect_language": "language",
    "PiiRedactingFilter": "logging_filter",
    "PiiMatch": "pii",
    "find_pii": "pii",
    "redact": "pii",
    "redact_nested": "pii",
    "is_negative": "topics",
    "sensitive_topic": "topics",
}

__all__ = [
    "GroundingResult",
    "GuardVerdict",
    "PiiMatch",
    "PiiRedactingFilter",
    "check_grounding",
    "detect_language",
    "find_pii",
    "inspect_message",
    "is_negative",
    "redact",
    "redact_nested",
    "sensitive_topic",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agent.safety' has no attribute {name!r}")
    return getattr(import_module(f"agent.safety.{home}"), name)
