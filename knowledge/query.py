"""The retrieval query of a conversation turn: the customer's words, latest first.

A follow-up such as "and how long does that take?" says little on its own; the
customer's earlier messages say what "that" is. The query is the latest message,
whole, then the customer's earlier messages, most recent first, as long as they fit
a small budget (a few turns, a few hundred characters). The bot's own turns are left
out: they restate the knowledge base and would pull retrieval towards what was
already found, whatever the customer asks next.
"""

from collections.abc import Iterable, Mapping
from typing import Protocol

CUSTOMER_ROLES = frozenset({"user", "customer", "human"})
DEFAULT_MAX_TURNS = 4
DEFAULT_MAX_CHARS = 600
_TEXT_KEYS = ("utterance", "content", "text")


class Message(Protocol):
    """A chat message object, such as the agent's ``ChatMessage``."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str | None: ...


Turn = Mapping[str, object] | tuple[str, str] | Message
"""One earlier turn: ``{"role", "utterance" | "content" | "text"}``, ``(role, text)``
or a message object with ``role`` and ``content``."""


def build_query(
    message: str,
    history: Iterable[Turn] = (),
    max_turns: int = DEFAULT_MAX_TURNS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str:
    """The latest ``message`` and up to ``max_turns`` earlier customer messages, one a line.

    ``history`` is in conversation order (oldest first) and may end with ``message``
    itself (it is not repeated). Earlier messages are added most recent first while
    the whole query stays within ``max_chars``; the latest message is always kept whole.
    """
    return "\n".join(query_parts(message, history, max_turns, max_chars))


def query_parts(
    message: str,
    history: Iterable[Turn] = (),
    max_turns: int = DEFAULT_MAX_TURNS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[str]:
    """The messages ``build_query`` joins: the latest first, then earlier ones, newest first."""
    latest = message.strip()
    earlier = [
        text for role, text in map(role_and_text, history) if role in CUSTOMER_ROLES and text
    ]
    if earlier and earlier[-1] == latest:
        earlier.pop()
    chosen: list[str] = []
    length = len(latest)
    for text in reversed(earlier[-max_turns:] if max_turns > 0 else []):
        if length + 1 + len(text) > max_chars:
            break
        chosen.append(text)
        length += 1 + len(text)
    return [part for part in (latest, *chosen) if part]


def role_and_text(turn: Turn) -> tuple[str, str]:
    """A turn's role (lower case) and text (stripped; empty when it has none)."""
    role: object
    text: object
    if isinstance(turn, tuple):
        role, text = turn
    elif isinstance(turn, Mapping):
        role = turn.get("role", "")
        text = next((turn[key] for key in _TEXT_KEYS if turn.get(key) is not None), "")
    else:
        role, text = turn.role, turn.content
    return str(role or "").strip().lower(), str(text or "").strip()
