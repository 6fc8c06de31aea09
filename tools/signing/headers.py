"""Reading a header from any mapping of them."""

from collections.abc import Mapping


def header_value(headers: Mapping[str, str], name: str) -> str:
    """``name``'s value, or ''. Starlette's headers match names case-insensitively; a plain
    mapping with another spelling is searched only when the direct lookup misses."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value
