"""Each tenant's ticketing backend, opened once at start-up from its bot file's ``helpdesk``.

The built-in store (the default) keeps each tenant's tickets in a SQLite file of its own,
``<data dir>/tickets/<tenant>.sqlite3``: the store has no tenant column, and separate files
keep one tenant's customers from ever seeing another tenant's tickets. A helpdesk client
connects on first use: opening one makes no network call.
"""

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent.config.botfile import BotConfig
from agent.config.helpdesk import BuiltinHelpdesk
from agent.config.tenants import TenantRegistry, UnknownTenant
from agent.errors import ConfigError, DependencyUnavailable
from tools.errors import HelpdeskConfigError, TicketingError
from tools.ticketing.base import TicketingBackend
from tools.ticketing.factory import open_ticketing_backend

log = logging.getLogger(__name__)


def builtin_store_path(data_dir: Path, tenant: str) -> Path:
    return data_dir / "tickets" / f"{tenant}.sqlite3"


def backend_options(bot: BotConfig, data_dir: Path) -> tuple[str, dict[str, Any]]:
    """The platform and plain options the factory builds the tenant's backend from."""
    section = bot.helpdesk
    options = section.options()
    if isinstance(section, BuiltinHelpdesk):
        options["path"] = builtin_store_path(data_dir, bot.tenant)
    return section.platform, options


def describe_helpdesk(bot: BotConfig, data_dir: Path) -> str:
    """The platform and where it lives, never a credential."""
    section = bot.helpdesk
    if isinstance(section, BuiltinHelpdesk):
        return f"builtin store {builtin_store_path(data_dir, bot.tenant)}"
    return f"{section.platform} at {section.where()}"


async def open_helpdesk(bot: BotConfig, source: str, data_dir: Path) -> TicketingBackend:
    """The tenant's backend; ConfigError naming the bot file, or DependencyUnavailable."""
    platform, options = backend_options(bot, data_dir)
    try:
        return await open_ticketing_backend(platform, options)
    except HelpdeskConfigError as error:
        raise ConfigError(f"invalid configuration in {source}:\n  helpdesk: {error}") from None
    except TicketingError as error:
        raise DependencyUnavailable(f"helpdesk of tenant {bot.tenant!r}: {error}") from None


class TenantHelpdesks:
    """Tenant id → that tenant's ticketing backend."""

    def __init__(self, backends: Mapping[str, TicketingBackend]) -> None:
        self._backends = dict(backends)

    @classmethod
    async def open(cls, tenants: TenantRegistry, data_dir: Path) -> "TenantHelpdesks":
        """Every tenant's backend; on any failure, those already opened are closed."""
        opened: dict[str, TicketingBackend] = {}
        try:
            for tenant in tenants.tenants:
                bot, source = tenants.get(tenant), tenants.source(tenant)
                opened[tenant] = await open_helpdesk(bot, source, data_dir)
        except BaseException:
            await _close_all(opened.items())
            raise
        return cls(opened)

    def get(self, tenant: str) -> TicketingBackend:
        backend = self._backends.get(tenant)
        if backend is None:
            raise UnknownTenant(tenant)
        return backend

    async def aclose(self) -> None:
        await _close_all(self._backends.items())
        self._backends.clear()


async def _close_all(backends: Iterable[tuple[str, TicketingBackend]]) -> None:
    for tenant, backend in list(backends):
        try:
            await backend.aclose()
        except Exception:  # one backend failing to close must not keep the others open
            log.warning("closing the helpdesk of tenant %s failed", tenant, exc_info=True)
