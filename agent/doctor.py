"""Check every dependency a deskhand process needs and say precisely what is wrong."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from agent.config.derived import knowledge_config, llm_config
from agent.config.helpdesk import BuiltinHelpdesk
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.config.tenants import TenantRegistry
from agent.errors import DeskhandError
from agent.llm.client import ChatClient
from agent.runtime.factory import open_runtime
from agent.runtime.redis_connection import RedisOptions, redact_url
from agent.runtime.redis_health import check_redis
from agent.tenant_helpdesks import describe_helpdesk, open_helpdesk
from agent.tenant_tools import TenantTools, tools_environ
from knowledge.embeddings import model_available
from knowledge.errors import KnowledgeError
from knowledge.store import KnowledgeStore


@dataclass(frozen=True)
class Check:
    """``required``: serve refuses to start when it fails; ``warning``: ok, but say it loudly."""

    name: str
    ok: bool
    detail: str
    required: bool = True
    warning: bool = False


async def run_checks(settings: Settings, include_model: bool = True) -> list[Check]:
    checks = [_data_dir(settings.data_dir), _tenants(settings), await _helpdesks(settings)]
    if settings.tenants_dir.resolve() == DEMO_TENANTS_DIR.resolve():
        checks.append(_demo_shop(settings))
    checks.append(await _stores(settings))
    if settings.redis_url or settings.redis_sentinels:
        checks.extend(await _redis(settings))
    checks.append(_knowledge(settings))
    checks.append(_embedding_model(settings))
    if include_model:
        checks.append(await _model(settings))
    return checks


def _data_dir(path: Path) -> Check:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        return Check("data directory", False, f"{path} is not writable: {error.strerror}")
    return Check("data directory", True, str(path.resolve()))


def _tenants(settings: Settings) -> Check:
    """Bot files and their tools files (hosts, approval limits, enabled tool names)."""
    try:
        registry = TenantRegistry.load(settings.tenants_dir)
        TenantTools.load(registry, tools_environ(settings))
    except DeskhandError as error:
        return Check("bot files", False, str(error))
    return Check("bot files", True, f"{', '.join(registry.tenants)} in {settings.tenants_dir}")


async def _helpdesks(settings: Settings) -> Check:
    """Each tenant's ticketing backend, built from its bot file (the built-in store opened).

    Platform and address only, never credentials; a cloud helpdesk is not contacted.
    """
    name = "helpdesks"
    try:
        registry = TenantRegistry.load(settings.tenants_dir)
        found = []
        for tenant in registry.tenants:
            bot = registry.get(tenant)
            backend = await open_helpdesk(bot, registry.source(tenant), settings.data_dir)
            await backend.aclose()
            remote = not isinstance(bot.helpdesk, BuiltinHelpdesk)
            note = " (settings checked, not contacted)" if remote else ""
            found.append(f"{tenant}: {describe_helpdesk(bot, settings.data_dir)}{note}")
    except DeskhandError as error:
        return Check(name, False, str(error))
    return Check(name, True, "; ".join(found))


def _demo_shop(settings: Settings) -> Check:
    """The demo tenant's order tools call the demo shop, which deskhand serves when asked."""
    if settings.demo_shop:
        return Check("demo shop", True, f"served at :{settings.port}/demo-shop", required=False)
    detail = (
        "not served (DESKHAND_DEMO_SHOP=false): the demo tenant's order tools will fail "
        "and hand such conversations to a person; `make run` turns it on"
    )
    return Check("demo shop", True, detail, required=False)


async def _stores(settings: Settings) -> Check:
    where = redact_url(settings.redis_url) if settings.redis_url else str(settings.sqlite_path)
    name = f"runtime stores ({settings.mode})"
    try:
        runtime = await open_runtime(settings)
        try:
            await runtime.ping()
        finally:
            await runtime.close()
    except DeskhandError as error:
        return Check(name, False, str(error))
    return Check(name, True, where)


async def _redis(settings: Settings) -> list[Check]:
    """Version, topology, latency and pool; warnings for settings that can lose messages."""
    try:
        health = await check_redis(RedisOptions.from_settings(settings))
    except DeskhandError as error:
        return [Check("redis", False, str(error))]
    detail = "; ".join([*health.errors, health.summary()])
    checks = [Check("redis", not health.errors, detail)]
    for warning in health.warnings:
        checks.append(Check("redis settings", True, warning, required=False, warning=True))
    return checks


def _knowledge(settings: Settings) -> Check:
    config = knowledge_config(settings)
    where = config.chroma_url or str(config.persist_dir)
    try:
        KnowledgeStore.open(config).ping()
    except KnowledgeError as error:
        return Check("knowledge base (Chroma)", False, str(error))
    return Check("knowledge base (Chroma)", True, where)


def _embedding_model(settings: Settings) -> Check:
    name = settings.embedding_model or "all-MiniLM-L6-v2 (packaged)"
    found, detail = model_available(settings.embedding_model)
    resolved = knowledge_config(settings).backend
    backend = f"backend {settings.embedding_backend}"
    if resolved != settings.embedding_backend:
        backend += f" ({resolved})"
    return Check("embedding model", found, f"{name}, {backend}: {detail}")


async def _model(settings: Settings) -> Check:
    config = llm_config(settings)
    if config is None:
        return Check(
            "model endpoint",
            True,
            "not configured: answers are quoted from the knowledge base or handed to a person "
            "(set DESKHAND_LLM_BASE_URL)",
            required=False,
        )
    async with ChatClient(config) as client:
        try:
            models = await asyncio.wait_for(client.list_models(), config.timeout_s)
        except (DeskhandError, TimeoutError) as error:
            return Check("model endpoint", False, f"{config.base_url}: {error}", required=False)
    listed = ", ".join(models) or "no models"
    if config.model not in models:
        detail = f"{config.base_url} serves {listed}, not {config.model} (DESKHAND_LLM_MODEL)"
        return Check("model endpoint", False, detail, required=False)
    return Check("model endpoint", True, f"{config.base_url} serves {listed}", required=False)
