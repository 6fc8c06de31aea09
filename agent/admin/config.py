"""Configuration, administered: the effective settings and bot files with secrets redacted,
a bot file validated before it is saved, a tenant's bot file reloaded, and the state of
every dependency (runtime stores, Redis, Chroma, the model endpoint and its circuit)."""

import asyncio
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from agent.components import Components
from agent.config.botfile import BotConfig, load_bot_file
from agent.config.settings import Settings
from agent.errors import ConfigError, DeskhandError
from agent.runtime.redis_connection import RedisOptions, redact_url
from agent.runtime.redis_health import check_redis
from knowledge.errors import KnowledgeError
from tools.yaml_safe import safe_load

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"secret|token|passw|api_?key|private|credential|authorization|signing", re.IGNORECASE
)
_URL_KEY = re.compile(r"url$", re.IGNORECASE)
MODEL_CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def redacted(value: Any, key: str = "", secret: bool = False) -> Any:
    """``value`` with secrets replaced: SecretStr values, every value under a key that
    looks like a secret (inside lists and mappings too), and passwords inside URLs."""
    secret = secret or bool(key and _SECRET_KEY.search(key))
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, BaseModel):
        return redacted(value.model_dump(mode="python"), key, secret)
    if isinstance(value, Mapping):
        return {str(k): redacted(v, str(k), secret) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted(item, key, secret) for item in value]
    if secret and isinstance(value, str | bytes) and value:  # not max_tokens: 512
        return REDACTED
    if isinstance(value, str) and _URL_KEY.search(key) and "://" in value:
        return redact_url(value)
    if isinstance(value, Path):
        return str(value)
    return value


def effective_settings(settings: Settings) -> dict[str, Any]:
    return {name: redacted(getattr(settings, name), name) for name in type(settings).model_fields}


def bot_file(bot: BotConfig) -> dict[str, Any]:
    data: dict[str, Any] = redacted(bot)
    return data


def validate_bot_yaml(text: str, tenant: str, home: Path | None) -> list[Problem]:
    """Problems with a bot file's YAML for ``tenant`` (none: valid), each naming its field.

    ``home`` is the folder of the tenant's bot file: a relative ``tools_file`` is read
    from there, as it would be once the file is saved."""
    try:
        raw = safe_load(text)
    except yaml.YAMLError as error:
        return [Problem("(yaml)", f"not valid YAML: {error}")]
    if not isinstance(raw, dict):
        return [Problem("(top level)", "a bot file holds a mapping")]
    try:
        BotConfig.model_validate(raw)
    except ValidationError as error:
        return [
            Problem(".".join(str(p) for p in e["loc"]) or "(top level)", e["msg"])
            for e in error.errors()
        ]
    if raw.get("tenant") != tenant:
        return [Problem("tenant", f"is {raw.get('tenant')!r}; this is the bot file of {tenant!r}")]
    return _consistency(raw, tenant, home)


def _consistency(raw: dict[str, Any], tenant: str, home: Path | None) -> list[Problem]:
    """What load_bot_file checks beyond the schema (${VARS}, the tools file, tools)."""
    tools_file = raw.get("tools_file")
    if isinstance(tools_file, str) and home is not None and not Path(tools_file).is_absolute():
        raw = {**raw, "tools_file": str((home / tools_file).resolve())}
    with tempfile.TemporaryDirectory(prefix="deskhand-validate-") as folder:
        path = Path(folder) / f"{tenant}.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        try:
            load_bot_file(path)
        except ConfigError as error:
            return _problems_of(str(error).replace(str(path), "the bot file"))
    return []


def _problems_of(message: str) -> list[Problem]:
    lines = [line.strip() for line in message.splitlines()[1:] if line.strip()]
    found = []
    for line in lines or [message]:
        field, colon, rest = line.partition(": ")
        found.append(Problem(field, rest) if colon else Problem("(bot file)", line))
    return found


async def dependencies(parts: Components, embedder_ready: bool) -> dict[str, Any]:
    """Each dependency's state: ``ok`` and a detail, with the model's circuit."""
    checks: dict[str, Any] = {"stores": await _stores(parts)}
    if parts.settings.redis_url or parts.settings.redis_sentinels:
        checks["redis"] = await _redis(parts.settings)
    checks["chroma"] = await _chroma(parts, embedder_ready)
    checks["model"] = await _model(parts)
    return checks


async def _stores(parts: Components) -> dict[str, Any]:
    try:
        await parts.runtime.ping()
    except DeskhandError as error:
        return {"ok": False, "mode": parts.runtime.mode, "detail": str(error)}
    return {"ok": True, "mode": parts.runtime.mode, "detail": "ok"}


async def _redis(settings: Settings) -> dict[str, Any]:
    try:
        health = await check_redis(RedisOptions.from_settings(settings))
    except DeskhandError as error:
        return {"ok": False, "detail": str(error)}
    return {
        "ok": not health.errors,
        "detail": "; ".join([*health.errors, health.summary()]),
        "warnings": list(health.warnings),
    }


async def _chroma(parts: Components, embedder_ready: bool) -> dict[str, Any]:
    where = parts.settings.chroma_url or "embedded"
    try:
        await asyncio.to_thread(parts.knowledge.ping)
    except KnowledgeError as error:
        return {"ok": False, "where": where, "detail": str(error)}
    detail = "ok" if embedder_ready else "ok; the embedding model is still loading"
    return {"ok": True, "where": where, "detail": detail, "embedder_ready": embedder_ready}


async def _model(parts: Components) -> dict[str, Any]:
    llm = parts.llm
    if llm is None:
        return {"ok": False, "configured": False, "detail": "DESKHAND_LLM_BASE_URL is not set"}
    circuit = {
        "state": llm.circuit.state,
        "consecutive_failures": llm.circuit.consecutive_failures,
        "retry_in_s": round(llm.circuit.retry_in_s(), 3),
    }
    base = {"configured": True, "endpoint": redact_url(str(parts.settings.llm_base_url))}
    try:
        models = await asyncio.wait_for(llm.list_models(), MODEL_CHECK_TIMEOUT_S)
    except (DeskhandError, TimeoutError) as error:
        return {**base, "ok": False, "detail": str(error) or "timed out", "circuit": circuit}
    return {**base, "ok": True, "detail": f"serves {', '.join(models)}", "circuit": circuit}
