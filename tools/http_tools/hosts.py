"""Which hosts a tenant's HTTP tools may call: ``host``, ``host:port`` or ``*.domain``."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

_LABELS = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_])?)$")


@dataclass(frozen=True)
class HostPattern:
    """One allow-list entry. Without a port it allows every port of the host."""

    host: str
    port: int | None = None
    subdomains: bool = False

    @classmethod
    def parse(cls, entry: str) -> "HostPattern":
        text = entry.strip().lower()
        subdomains = text.startswith("*.")
        if subdomains:
            text = text[2:]
        host, port = _split_port(text)
        if not _LABELS.match(host) or "*" in host:
            raise ValueError(f"{entry!r} is not a host name, 'host:port' or '*.domain'")
        return cls(host, port, subdomains)

    def allows(self, host: str, port: int | None) -> bool:
        host = host.lower().rstrip(".")
        if self.port is not None and port != self.port:
            return False
        if self.subdomains:
            return host.endswith("." + self.host)
        return host == self.host


def host_allowed(host: str, port: int | None, patterns: Iterable[HostPattern]) -> bool:
    return any(pattern.allows(host, port) for pattern in patterns)


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):  # [::1] or [::1]:8080
        end = text.find("]")
        rest = text[end + 1 :] if end > 0 else ""
        host = text[: end + 1] if end > 0 else text
        return host, _port(rest[1:], text) if rest.startswith(":") else None
    host, colon, port = text.partition(":")
    return host, _port(port, text) if colon else None


def _port(value: str, entry: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{entry!r} has an invalid port")
    return int(value)
