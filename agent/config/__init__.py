"""Settings (process-wide, from the environment) and bot files (per tenant, YAML)."""

from agent.config.botfile import BotConfig, GenericChannelConfig, load_bot_file
from agent.config.settings import Settings, load_settings
from agent.config.tenants import TenantRegistry, UnknownTenant

__all__ = [
    "BotConfig",
    "GenericChannelConfig",
    "Settings",
    "TenantRegistry",
    "UnknownTenant",
    "load_bot_file",
    "load_settings",
]
