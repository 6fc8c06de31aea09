"""Reading conversation JSON (Intercom, Help Scout, Front) defensively.

A 2xx body of the wrong shape is HelpdeskResponseInvalid, never a KeyError or TypeError.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tools.errors import HelpdeskResponseInvalid

Json = dict[str, Any]


def obj(value: Any, what: str) -> Json:
    if not isinstance(value, dict):
        raise HelpdeskResponseInvalid(f"{what}: expected a JSON object")
    return value


def items(value: Any, what: str) -> list[Json]:
    """A JSON array of objects (None reads as empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise HelpdeskResponseInvalid(f"{what}: expected a JSON array")
    return [obj(item, what) for item in value]


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


def opt_ident(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def opt_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def unix_to_iso(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")


def first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""
