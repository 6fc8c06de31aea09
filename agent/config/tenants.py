"""All tenants' bot files, loaded and validated together at start-up."""

from collections.abc import Mapping
from pathlib import Path

from agent.config.botfile import BotConfig, load_bot_file
from agent.errors import ConfigError, DeskhandError


class UnknownTenant(DeskhandError):
    """No bot file exists for the tenant named in a request."""

    def __init__(self, tenant: str) -> None:
        super().__init__(f"unknown tenant {tenant!r}")
        self.tenant = tenant


class TenantRegistry:
    """The bot files of every tenant, by tenant id."""

    def __init__(
        self, bots: Mapping[str, BotConfig], sources: Mapping[str, Path] | None = None
    ) -> None:
        self._bots = dict(bots)
        self._sources = dict(sources or {})

    @classmethod
    def load(
        cls,
        directory: Path,
        known_tools: set[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> "TenantRegistry":
        if not directory.is_dir():
            raise ConfigError(f"tenants directory {directory} does not exist")
        files = sorted(directory.glob("*.yaml"))
        if not files:
            raise ConfigError(f"tenants directory {directory} holds no <tenant>.yaml bot file")
        bots = {path: load_bot_file(path, known_tools, environ) for path in files}
        return cls(
            {bot.tenant: bot for bot in bots.values()},
            {bot.tenant: path for path, bot in bots.items()},
        )

    def get(self, tenant: str) -> BotConfig:
        bot = self._bots.get(tenant)
        if bot is None:
            raise UnknownTenant(tenant)
        return bot

    def read(
        self,
        tenant: str,
        known_tools: set[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> BotConfig:
        """The tenant's bot file as it is on disk now, validated; nothing changes here
        (``use`` it: ``agent.bot_reload`` reloads a tenant). ConfigError naming the file
        and field when it is invalid."""
        path = self._sources.get(tenant)
        if path is None:
            raise UnknownTenant(tenant)
        return load_bot_file(path, known_tools, environ)

    def use(self, bot: BotConfig) -> None:
        """Answer ``bot`` for its tenant from now on: everything holding this registry sees
        it at its next ``get`` (one dict assignment: a turn reads the old bot or the new
        one, never a mix)."""
        if bot.tenant not in self._sources:
            raise UnknownTenant(bot.tenant)
        self._bots = {**self._bots, bot.tenant: bot}

    def source_path(self, tenant: str) -> Path | None:
        return self._sources.get(tenant)

    def source(self, tenant: str) -> str:
        """The bot file a tenant was read from (for messages)."""
        path = self._sources.get(tenant)
        return str(path) if path is not None else f"the bot file of tenant {tenant!r}"

    def __contains__(self, tenant: object) -> bool:
        return tenant in self._bots

    @property
    def tenants(self) -> list[str]:
        return sorted(self._bots)
