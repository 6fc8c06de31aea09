"""An idempotency key carried invisibly in a message body, for check-before-write.

Most helpdesks take no idempotency key on replies, notes or new conversations (Intercom,
Help Scout, Front and others), and their message objects have no metadata field we may
set. So the key travels in the text itself: a run of zero-width characters encoding 64
bits of the key's SHA-256, between two INVISIBLE SEPARATORs, appended to the body. Readers
(and e-mail clients) see nothing, in plain text, Markdown or HTML alike (an HTML comment
would show in plain-text channels and is stripped by sanitizers); the platform stores and
returns it with the body. Before a write, and again before a retry whose first answer was
lost, the client looks for an earlier part, thread or message whose body carries it.

Only a digest travels, never the key itself. Bodies read back go through ``strip_markers``
so the marker never reaches the model or the customer's transcript.
"""

import hashlib
import re

_FENCE = "\u2063"  # INVISIBLE SEPARATOR
_ZERO = "\u200b"  # ZERO WIDTH SPACE
_ONE = "\u200c"  # ZERO WIDTH NON-JOINER
_BITS = 64
_PATTERN = re.compile(f"{_FENCE}[{_ZERO}{_ONE}]{{{_BITS}}}{_FENCE}")
# Some platforms hand HTML bodies back with these characters as numeric entities.
_ENTITY = re.compile(r"&#(?:x(2063|200b|200c)|(8291|8203|8204));", re.IGNORECASE)


def digest(key: str) -> str:
    """A short, stable, non-reversible stand-in for the key (hex, 16 characters)."""
    return hashlib.sha256(key.encode()).hexdigest()[: _BITS // 4]


def marker(key: str) -> str:
    bits = bin(int(digest(key), 16))[2:].zfill(_BITS)
    return _FENCE + "".join(_ONE if bit == "1" else _ZERO for bit in bits) + _FENCE


def with_marker(body: str, key: str) -> str:
    return body + marker(key)


def has_marker(text: str | None, key: str) -> bool:
    return bool(text) and marker(key) in _decode(text or "")


def strip_markers(text: str) -> str:
    return _PATTERN.sub("", _decode(text)) if _FENCE in text or "&#" in text else text


def _decode(text: str) -> str:
    if "&#" not in text:
        return text
    return _ENTITY.sub(lambda m: chr(int(m[1], 16)) if m[1] else chr(int(m[2])), text)
