"""Reload a tenant's bot file without a restart, in every process that serves it.

``reload_bot`` reads the file again, checks the tools it enables against those built at
start-up, then swaps the bot and its tool registry (an invalid file changes nothing). The
admin API does that in the process that answers, then bumps the tenant's generation
(``agent.runtime.config_generations``); ``follow_reloads`` runs in every other process on
Redis (API replicas, worker processes) and reloads a tenant's file when its generation
moves, within ``FOLLOW_EVERY_S``. Each process reads the file from its own disk: mount the
same bot files everywhere.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from agent.config.botfile import BotConfig
from agent.config.tenants import TenantRegistry
from agent.errors import DeskhandError
from agent.runtime.config_generations import ConfigGenerations
from agent.runtime.stores import RuntimeStoreError
from agent.tenant_tools import TenantTools

log = logging.getLogger(__name__)

FOLLOW_EVERY_S = 2.0


def reload_bot(
    tenants: TenantRegistry, tools: TenantTools, tenant: str, environ: Mapping[str, str]
) -> BotConfig:
    """The tenant's bot file read again and in use, with exactly the tools it enables;
    ConfigError (the old bot and tools stay) when it is invalid."""
    bot = tenants.read(tenant, tools.known(tenant), environ)
    tools.apply(bot, tenants)
    tenants.use(bot)
    return bot


async def follow_reloads(
    generations: ConfigGenerations,
    reload: Callable[[str], object],
    stop: asyncio.Event,
    every_s: float = FOLLOW_EVERY_S,
) -> None:
    """Until ``stop``: ``reload(tenant)`` for each tenant whose generation moved since the
    last look (the first look, at start, only notes them: the files were just read)."""
    seen = await _generations(generations) or {}
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        current = None if stop.is_set() else await _generations(generations)
        for tenant, generation in (current or {}).items():
            if seen.get(tenant) != generation:
                seen[tenant] = generation
                _reload_logged(reload, tenant, generation)


async def _generations(generations: ConfigGenerations) -> dict[str, int] | None:
    try:
        return await generations.current()
    except RuntimeStoreError as error:
        log.warning("bot-file reloads not followed this time", extra={"error": str(error)})
        return None


def _reload_logged(reload: Callable[[str], object], tenant: str, generation: int) -> None:
    try:
        reload(tenant)
    except DeskhandError as error:  # the file went bad since: the old bot stays
        log.error(
            "a reloaded bot file could not be used here; the old one stays",
            extra={"tenant": tenant, "generation": generation, "error": str(error)},
        )
        return
    log.info("bot file reloaded", extra={"tenant": tenant, "generation": generation})
