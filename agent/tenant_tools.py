"""Each tenant's tool registry, built once at start-up from its bot file.

A tenant's tools are the built-in Python tools (the ticketing tools, acting on the
tenant's helpdesk) plus the declarative HTTP tools of its ``tools_file``, checked against
its ``tool_hosts`` and ``approvals``. The bot file's ``tools`` list must name only tools
that exist, and only those are registered: a tool the tenant declared but did not enable
cannot be called, even by a model that guesses its name. Without ``helpdesks`` (checks,
tests) the ticketing tools exist but fail as a system failure when called.
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


class TenantTools:
    """Tenant id → that tenant's ToolRegistry."""

    def __init__(
        self,
        registries: Mapping[str, ToolRegistry],
        available: Mapping[str, list[Tool[Any]]] | None = None,
    ) -> None:
        """``available``: every tool each tenant could enable (default: its registry's)."""
        self._registries = dict(registries)
        self._available = dict(
            available or {t: [r.get(n) for n in r.names] for t, r in registries.items()}
        )

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
        registries = {}
        available = {}
        shared = pool or HttpPool()
        for tenant in tenants.tenants:
            bot = tenants.get(tenant)
            helpdesk = helpdesks.get(tenant) if helpdesks is not None else None
            builtin = builtin_tools(helpdesk, bot.helpdesk.tool_timeout_s)
            declared = _http_tools(bot, tenants, environ, shared)
            _check_no_clash(builtin, declared, bot, tenants)
            available[tenant] = [*builtin, *declared]
            registries[tenant] = _enabled(bot, available[tenant], tenants)
        return cls(registries, available)

    def known(self, tenant: str) -> set[str]:
        """The names of every tool the tenant's bot file may enable."""
        return {tool.name for tool in self._available.get(tenant, [])}

    def apply(self, bot: BotConfig, tenants: TenantRegistry) -> None:
        """Enable exactly the tools ``bot`` names, from those built at start-up (a reloaded
        bot file); ConfigError, and nothing changes, if it names one that does not exist."""
        registry = _enabled(bot, self._available.get(bot.tenant, []), tenants)
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
