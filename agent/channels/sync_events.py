"""Small pieces the helpdesk adapters share for state sync and synthetic ids.

* ``owner_first``: a customer message in a conversation a person owns is recorded but not
  answered: a manual event (``<message id>.owner``) goes in front of it.
* ``carries_deskhand_marker``: every body deskhand writes to a helpdesk ends with the
  invisible idempotency marker of ``tools.ticketing.key_marker``; a message that carries
  one is the bot's own, even where the payload does not say who wrote it.
* ``short_hash``: a stable stand-in for text in a synthetic delivery id (platforms that
  send none).
"""

import hashlib

from agent.channels.base import EventKind, InboundEvent

# key_marker's INVISIBLE SEPARATOR, raw or as the numeric entity an HTML body may carry.
_MARKER_FENCES = ("\u2063", "&#8291;", "&#x2063;")


def owner_first(message: InboundEvent, cause: str, reason: str) -> list[InboundEvent]:
    """``message`` preceded by the manual event saying a person owns its conversation."""
    owner = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=message.conversation_id,
        event_id=f"{message.event_id}.owner",
        customer=message.customer,
        reason=reason,
        cause=cause,
    )
    return [owner, message]


def carries_deskhand_marker(text: str) -> bool:
    lowered = text.lower()
    return any(fence in lowered for fence in _MARKER_FENCES)


def short_hash(*parts: str) -> str:
    """16 hex characters of the SHA-256 of ``parts`` (any text, lone surrogates included)."""
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:16]
