"""Each tenant's ticketing backend, opened once at start-up from its bot file's ``helpdesk``
(a reloaded file that names another connection is told apart: ``differs_from``).

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


def helpdesk_connection(bot: BotConfig) -> tuple[str, dict[str, Any]]:
    """What the tenant's backend is opened with (its tool timeout is not part of it)."""
    return bot.helpdesk.platform, bot.helpdesk.options()


class TenantHelpdesks:
    """Tenant id → that tenant's ticketing backend."""

    def __init__(
        self,
        backends: Mapping[str, TicketingBackend],
        opened_with: Mapping[str, tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        """``opened_with``: each backend's ``helpdesk_connection`` (None: not known)."""
        self._backends = dict(backends)
        self._opened_with = dict(opened_with or {})

    def differs_from(self, bot: BotConfig) -> bool:
        """Whether ``bot`` (a reloaded file) describes another helpdesk connection than the
        one open for its tenant: a restart is what opens the new one."""
        opened = self._opened_with.get(bot.tenant)
        return opened is not None and opened != helpdesk_connection(bot)

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
        return cls(opened, {t: helpdesk_connection(tenants.get(t)) for t in opened})

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
