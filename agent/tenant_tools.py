"""Each tenant's tool registry, built at start-up from its bot file, again at a reload.

A tenant's tools are the built-in Python tools (the ticketing tools, acting on the
tenant's helpdesk) plus the declarative HTTP tools of its ``tools_file``, checked against
its ``tool_hosts`` and ``approvals``. The bot file's ``tools`` list must name only tools
that exist, and only those are registered: a tool the tenant declared but did not enable
cannot be called, even by a model that guesses its name. Without ``helpdesks`` (checks,
tests) the ticketing tools exist but fail as a system failure when called.

A reloaded bot file gets its tools built afresh (``apply``): its tools file read again,
with the file's ``tool_hosts``, ``approvals`` thresholds and helpdesk tool timeout, on
the helpdesk connection the process started with.
"""

import os
from collections.abc import Mapping
from typing import Any

from agent.config.botfile import BotConfig, check_enabled_tools
from agent.config.settings import Settings
from agent.config.tenants import TenantRegistry, UnknownTenant
from agent.errors import ConfigError
from agent.graph.intents import check_intent_tools
from agent.tenant_helpdesks import TenantHelpdesks
from tools.http_tools.loader import ToolsFileError, load_tools_file
from tools.http_tools.pool import HttpPool
from tools.registry import Tool, ToolRegistry
from tools.ticketing.base import TicketingBackend
from tools.ticketing.tools import DEFAULT_TIMEOUT_S, ticketing_tools


def builtin_tools(
    helpdesk: TicketingBackend | None = None, timeout_s: float = DEFAULT_TIMEOUT_S
) -> list[Tool[Any]]:
    """Python tools every tenant may enable (business data comes through HTTP tools)."""
    return ticketing_tools(helpdesk, timeout_s)


def tools_environ(settings: Settings) -> dict[str, str]:
    """The environment ``${NAME}`` in tools files reads, with the port deskhand serves on
    (``DESKHAND_PORT`` as the settings resolved it, ``--port`` included)."""
    return {**os.environ, "DESKHAND_PORT": str(settings.port)}


class ToolSource:
    """What a tenant's tools are built from: its bot file, its helpdesk, the environment
    ``${NAME}`` in tools files reads, and the connections HTTP tools share."""

    def __init__(
        self,
        environ: Mapping[str, str],
        helpdesks: TenantHelpdesks | None = None,
        pool: HttpPool | None = None,
    ) -> None:
        self._environ = environ
        self._helpdesks = helpdesks
        self._pool = pool or HttpPool()

    def available(self, bot: BotConfig, tenants: TenantRegistry) -> list[Tool[Any]]:
        """Every tool ``bot`` may enable; ConfigError naming the file and field."""
        helpdesk = self._helpdesks.get(bot.tenant) if self._helpdesks is not None else None
        builtin = builtin_tools(helpdesk, bot.helpdesk.tool_timeout_s)
        declared = _http_tools(bot, tenants, self._environ, self._pool)
        _check_no_clash(builtin, declared, bot, tenants)
        return [*builtin, *declared]


class TenantTools:
    """Tenant id → that tenant's ToolRegistry."""

    def __init__(
        self,
        registries: Mapping[str, ToolRegistry],
        available: Mapping[str, list[Tool[Any]]] | None = None,
        source: ToolSource | None = None,
    ) -> None:
        """``available``: every tool each tenant could enable (default: its registry's);
        ``source``: what a reload builds them from (None: a reload keeps ``available``)."""
        self._registries = dict(registries)
        self._available = dict(
            available or {t: [r.get(n) for n in r.names] for t, r in registries.items()}
        )
        self._source = source

    @classmethod
    def load(
        cls,
        tenants: TenantRegistry,
        environ: Mapping[str, str],
        helpdesks: TenantHelpdesks | None = None,
        pool: HttpPool | None = None,
    ) -> "TenantTools":
        """Every tenant's registry; ConfigError naming the file and field on any problem.
        Every tenant's HTTP tools share ``pool``'s connections (None: a pool of their own)."""
        source = ToolSource(environ, helpdesks, pool)
        registries = {}
        available = {}
        for tenant in tenants.tenants:
            bot = tenants.get(tenant)
            available[tenant] = source.available(bot, tenants)
            registries[tenant] = _enabled(bot, available[tenant], tenants)
        return cls(registries, available, source)

    def apply(self, bot: BotConfig, tenants: TenantRegistry) -> None:
        """Use ``bot``'s tools (a reloaded bot file): built afresh from it, its tools file
        read again, and exactly those it names enabled. ConfigError, and nothing changes,
        when the tools file is invalid or the bot names a tool that does not exist."""
        if self._source is not None:
            available = self._source.available(bot, tenants)
        else:
            available = self._available.get(bot.tenant, [])
        registry = _enabled(bot, available, tenants)
        self._available = {**self._available, bot.tenant: available}
        self._registries = {**self._registries, bot.tenant: registry}

    def get(self, tenant: str) -> ToolRegistry:
        registry = self._registries.get(tenant)
        if registry is None:
            raise UnknownTenant(tenant)
        return registry


def _enabled(bot: BotConfig, available: list[Tool[Any]], tenants: TenantRegistry) -> ToolRegistry:
    check_enabled_tools(bot, tenants.source(bot.tenant), {t.name for t in available})
    registry = ToolRegistry(t for t in available if t.name in bot.tools)
    check_intent_tools(bot, registry, tenants.source(bot.tenant))
    return registry


def _http_tools(
    bot: BotConfig, tenants: TenantRegistry, environ: Mapping[str, str], pool: HttpPool
) -> list[Tool[Any]]:
    if bot.tools_file is None:
        return []
    try:
        return load_tools_file(
            bot.tools_file,
            allowed_hosts=bot.tool_hosts,
            limits=bot.approvals,
            environ=environ,
            pool=pool,
        )
    except ToolsFileError as error:
        raise ConfigError(f"{error}\n  (the tools_file of {tenants.source(bot.tenant)})") from None


def _check_no_clash(
    builtin: list[Tool[Any]], declared: list[Tool[Any]], bot: BotConfig, tenants: TenantRegistry
) -> None:
    clashes = sorted({t.name for t in builtin} & {t.name for t in declared})
    if clashes:
        raise ConfigError(
            f"invalid tools file {bot.tools_file}:\n  tools: {', '.join(clashes)} is the name of "
            f"a built-in tool; rename it\n  (the tools_file of {tenants.source(bot.tenant)})"
        )
