"""Build a ticketing backend from a platform name and plain options (no pydantic, no agent).

``options`` are the fields of the platform's ``<Platform>Config`` (secrets as plain
strings; a None value means "not given", so the config's default applies), plus, for the
helpdesks, ``timeout_s`` (per request) and ``retry`` (a ``RetryPolicy``, or its fields as
a mapping). The built-in store takes ``path`` (its SQLite file), ``bot_author_id`` and
``handoff_group_id``. Building a helpdesk client touches no network: it connects on its
first call. Anything missing, unknown or invalid is a ``HelpdeskConfigError`` naming the
field (never a secret's value).
"""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from tools.errors import HelpdeskConfigError
from tools.retry import RetryPolicy
from tools.ticketing.base import TicketingBackend
from tools.ticketing.builtin import BuiltinTicketStore
from tools.ticketing.chatwoot import ChatwootClient, ChatwootConfig
from tools.ticketing.freshdesk import FreshdeskClient, FreshdeskConfig
from tools.ticketing.front import FrontClient, FrontConfig
from tools.ticketing.helpscout import HelpScoutClient, HelpScoutConfig
from tools.ticketing.intercom import IntercomClient, IntercomConfig
from tools.ticketing.zendesk import ZendeskClient, ZendeskConfig

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Sleep = Callable[[float], Awaitable[None]]
Options = Mapping[str, Any]
Config = TypeVar("Config", bound="DataclassInstance")

PLATFORMS = ("builtin", "zendesk", "freshdesk", "chatwoot", "intercom", "helpscout", "front")
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRY = RetryPolicy(max_retries=2, backoff_base_s=0.5, backoff_max_s=4.0)
_BUILTIN_FIELDS = frozenset({"path", "bot_author_id", "handoff_group_id"})


@dataclass(frozen=True)
class Link:
    """How a client reaches its platform: per-request bounds, and (for tests) I/O hooks."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy = DEFAULT_RETRY
    sleep: Sleep = asyncio.sleep
    transport: httpx.AsyncBaseTransport | None = None


async def open_ticketing_backend(
    platform: str,
    options: Options,
    *,
    sleep: Sleep = asyncio.sleep,
    transport: httpx.AsyncBaseTransport | None = None,
) -> TicketingBackend:
    """The backend for ``platform``; ``aclose()`` it when done."""
    given = {name: value for name, value in options.items() if value is not None}
    if platform == "builtin":
        return await _open_builtin(given)
    build = _CLIENTS.get(platform)
    if build is None:
        known = ", ".join(PLATFORMS)
        raise HelpdeskConfigError(f"unknown helpdesk platform {platform!r}; use one of: {known}")
    timeout_s = _timeout(platform, given.pop("timeout_s", DEFAULT_TIMEOUT_S))
    retry = _retry(platform, given.pop("retry", None))
    return build(given, Link(timeout_s, retry, sleep, transport))


async def _open_builtin(given: dict[str, Any]) -> TicketingBackend:
    _check_names("builtin", given, _BUILTIN_FIELDS)
    if "path" not in given:
        raise HelpdeskConfigError("builtin: missing field path (the store's SQLite file)")
    return await BuiltinTicketStore.open(
        Path(given["path"]),
        bot_author_id=given.get("bot_author_id", "deskhand"),
        handoff_group_id=given.get("handoff_group_id"),
    )


def _zendesk(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(ZendeskConfig, "zendesk", given, timeout_s=link.timeout_s, retry=link.retry)
    return ZendeskClient(config, sleep=link.sleep, transport=link.transport)


def _freshdesk(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(FreshdeskConfig, "freshdesk", given, timeout_s=link.timeout_s)
    return FreshdeskClient(config, retry=link.retry, sleep=link.sleep, transport=link.transport)


def _chatwoot(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(ChatwootConfig, "chatwoot", given, timeout_s=link.timeout_s)
    return ChatwootClient(config, retry=link.retry, sleep=link.sleep, transport=link.transport)


def _intercom(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(IntercomConfig, "intercom", given)
    return IntercomClient(
        config,
        retry=link.retry,
        timeout_s=link.timeout_s,
        sleep=link.sleep,
        transport=link.transport,
    )


def _helpscout(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(HelpScoutConfig, "helpscout", given)
    return HelpScoutClient(
        config,
        retry=link.retry,
        timeout_s=link.timeout_s,
        sleep=link.sleep,
        transport=link.transport,
    )


def _front(given: dict[str, Any], link: Link) -> TicketingBackend:
    config = _config(FrontConfig, "front", given)
    return FrontClient(
        config,
        retry=link.retry,
        timeout_s=link.timeout_s,
        sleep=link.sleep,
        transport=link.transport,
    )


_CLIENTS: dict[str, Callable[[dict[str, Any], Link], TicketingBackend]] = {
    "zendesk": _zendesk,
    "freshdesk": _freshdesk,
    "chatwoot": _chatwoot,
    "intercom": _intercom,
    "helpscout": _helpscout,
    "front": _front,
}


def _config(cls: type[Config], platform: str, given: dict[str, Any], **bounds: Any) -> Config:
    """``cls`` built from ``given`` (and the bounds it declares), every field name checked."""
    fields = dataclasses.fields(cls)
    _check_names(platform, given, {f.name for f in fields} - set(bounds))
    required = (f.name for f in fields if _required(f))
    missing = [name for name in required if name not in given and name not in bounds]
    if missing:
        raise HelpdeskConfigError(f"{platform}: missing field(s) {', '.join(missing)}")
    try:
        return cls(**given, **bounds)
    except (TypeError, ValueError) as error:
        raise HelpdeskConfigError(f"{platform}: {error}") from None


def _required(field: "dataclasses.Field[Any]") -> bool:
    no_default = field.default is dataclasses.MISSING
    return no_default and field.default_factory is dataclasses.MISSING


def _check_names(platform: str, given: Mapping[str, Any], known: set[str] | frozenset[str]) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        raise HelpdeskConfigError(
            f"{platform}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def _timeout(platform: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise HelpdeskConfigError(f"{platform}: timeout_s must be a positive number of seconds")
    return float(value)


def _retry(platform: str, value: Any) -> RetryPolicy:
    if value is None:
        return DEFAULT_RETRY
    if isinstance(value, RetryPolicy):
        return value
    if not isinstance(value, Mapping):
        raise HelpdeskConfigError(f"{platform}: retry must be a mapping of RetryPolicy fields")
    known = {f.name for f in dataclasses.fields(RetryPolicy)}
    _check_names(f"{platform}: retry", value, known)
    return RetryPolicy(**value)
