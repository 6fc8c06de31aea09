"""Reload a tenant's bot file without a restart, in every process that serves it.

``reload_bot`` reads the file again, builds its tools afresh (its tools file read again,
with the file's hosts and approval thresholds), then swaps the bot and its tool registry
(an invalid file changes nothing). The helpdesk connection stays as the process started;
a file that changed it says so (``restart_needed``). The admin API does that in the
process that answers, then bumps the tenant's generation
(``agent.runtime.config_generations``); ``follow_reloads`` runs in every other process on
Redis (API replicas, worker processes) and reloads a tenant's file when its generation
moves, within ``FOLLOW_EVERY_S``. Each process reads the file from its own disk: mount the
same bot files everywhere.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agent.config.botfile import BotConfig
from agent.config.tenants import TenantRegistry
from agent.errors import DeskhandError
from agent.runtime.config_generations import ConfigGenerations
from agent.runtime.stores import RuntimeStoreError
from agent.tenant_helpdesks import TenantHelpdesks
from agent.tenant_tools import TenantTools

log = logging.getLogger(__name__)

FOLLOW_EVERY_S = 2.0


@dataclass(frozen=True)
class BotReload:
    bot: BotConfig  # now in use
    restart_needed: tuple[str, ...] = ()  # parts of the file that changed but stay as started


def reload_bot(
    tenants: TenantRegistry,
    tools: TenantTools,
    helpdesks: TenantHelpdesks | None,
    tenant: str,
    environ: Mapping[str, str],
) -> BotReload:
    """The tenant's bot file read again and in use, its tools built afresh (its tools file
    read again) with exactly those it enables; ConfigError (the old bot and tools stay)
    when either file is invalid. A changed helpdesk connection needs a restart: said."""
    bot = tenants.read(tenant, None, environ)  # its tools are checked as they are built
    tools.apply(bot, tenants)
    tenants.use(bot)
    changed = helpdesks is not None and helpdesks.differs_from(bot)
    return BotReload(bot, ("helpdesk",) if changed else ())


async def follow_reloads(
    generations: ConfigGenerations,
    reload: Callable[[str], BotReload],
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


def _reload_logged(reload: Callable[[str], BotReload], tenant: str, generation: int) -> None:
    try:
        done = reload(tenant)
    except DeskhandError as error:  # the file went bad since: the old bot stays
        log.error(
            "a reloaded bot file could not be used here; the old one stays",
            extra={"tenant": tenant, "generation": generation, "error": str(error)},
        )
        return
    log.info("bot file reloaded", extra={"tenant": tenant, "generation": generation})
    if done.restart_needed:
        log.warning(
            "a reloaded bot file changed what only a restart applies; the old stays here",
            extra={"tenant": tenant, "restart_needed": list(done.restart_needed)},
        )
