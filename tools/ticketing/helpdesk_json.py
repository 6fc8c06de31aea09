"""Reading helpdesk JSON defensively, and the numeric ids some platforms take.

A 2xx body of the wrong shape is HelpdeskResponseInvalid, never a KeyError or TypeError.
Ids sent in a path are digits only, so a ticket id can never change the path it is sent
to: ``"1/../admin"`` is simply a ticket that does not exist.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tools.errors import HelpdeskResponseInvalid, TicketingError, TicketNotFound

Json = dict[str, Any]
_MAX_DIGITS = 19


def obj(value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise HelpdeskResponseInvalid(f"{what}: expected a JSON object")
    return value


def items(value: Any, what: str) -> list[Json]:
    """A JSON array of objects."""
    if not isinstance(value, list):
        raise HelpdeskResponseInvalid(f"{what}: expected a JSON array")
    return [obj(item, what) for item in value]


def items_or_empty(value: Any, what: str) -> list[Json]:
    """Like ``items``, but a missing (null) array reads as empty."""
    return [] if value is None else items(value, what)


def at(data: Mapping[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]…``, None where a level is missing or not an object."""
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def ident(value: Any, what: str) -> str:
    """A required id (number or string on the wire) as a string."""
    found = opt_ident(value)
    if found is None:
        raise HelpdeskResponseInvalid(f"{what}: missing or invalid id")
    return found


def int_ident(value: Any, what: str) -> int:
    """A required numeric id (a number, or digits in a string)."""
    found = ident(value, what)
    if not is_number(found):
        raise HelpdeskResponseInvalid(f"{what}: id {found[:40]!r} is not a number")
    return int(found)


def opt_ident(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def opt_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def number(value: Any) -> int:
    """An integer field (an id, a status code), 0 when absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def strings(value: Any, what: str) -> tuple[str, ...]:
    """A list of strings (tags, labels); None reads as empty."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise HelpdeskResponseInvalid(f"{what}: expected a list of strings")
    return tuple(value)


def unix_to_iso(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def ticket_number(ticket_id: str) -> int:
    """A ticket id for a path; TicketNotFound when it cannot be one of the platform's ids."""
    if not is_number(ticket_id):
        raise TicketNotFound(f"no ticket {ticket_id[:40]!r}: ids are numbers on this platform")
    return int(ticket_id)


def reference_number(value: str, what: str) -> int:
    """An id sent in a body (agent, group, team, contact); TicketingError when not a number."""
    if not is_number(value):
        raise TicketingError(f"{what} must be a number, got {value[:40]!r}")
    return int(value)


def is_number(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS


def first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""
