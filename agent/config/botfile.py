"""The per-tenant bot file: who the bot is, what it may do and how it reaches the tenant.

A bot file is YAML, one per tenant, named ``<tenant>.yaml``. String values may
reference environment variables as ``${NAME}`` (or ``${NAME:-default}``); a missing
variable without a default is an error that names the field and the file. Unknown
keys are errors too, so a typo never silently disables a setting.
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from agent.config.defaults import HUMAN_REQUEST_PHRASES
from agent.config.errors import describe_validation_error
from agent.errors import ConfigError

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationConfig(_Strict):
    """When the bot hands the conversation to a person."""

    human_request_phrases: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in HUMAN_REQUEST_PHRASES.items()}
    )
    holding_message: str = (
        "I'm passing this conversation to a member of our team. "
        "They will reply here as soon as they can."
    )

    def all_phrases(self) -> list[str]:
        return [p.lower() for phrases in self.human_request_phrases.values() for p in phrases]


class RetrievalConfig(_Strict):
    top_k: int = Field(default=4, ge=1, le=20)
    min_score: float = Field(
        default=0.45, ge=0.0, le=1.0, description="Cosine similarity a passage needs to be trusted."
    )


class ModelConfig(_Strict):
    """Per-tenant model behaviour; the endpoint itself is a process setting."""

    name: str | None = Field(default=None, description="Served model name (a LoRA adapter).")
    enable_thinking_with_tools: bool = False
    enable_thinking_without_tools: bool = False
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.8, gt=0.0, le=1.0)
    max_tokens: int = Field(default=1024, ge=16, le=32768)
    max_tool_calls: int = Field(default=4, ge=0, le=20)


class GenericChannelConfig(_Strict):
    """The generic channel: Standard Webhooks in, a signed callback out."""

    signing_secrets: list[SecretStr] = Field(min_length=1)
    callback_url: str | None = None

    @field_validator("signing_secrets")
    @classmethod
    def _standard_webhooks_secret(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        for secret in secrets:
            if not secret.get_secret_value().startswith("whsec_"):
                raise ValueError("each secret must be a Standard Webhooks secret (whsec_...)")
        return secrets

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None


class ChannelsConfig(_Strict):
    generic: GenericChannelConfig | None = None


class BotConfig(_Strict):
    """One tenant's bot, as written in its YAML file."""

    tenant: str
    company: str = Field(min_length=1)
    persona: str = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    max_reply_chars: int = Field(default=1500, ge=100, le=20000)
    tools: list[str] = Field(default_factory=list)
    api_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens of the tenant's own API clients."
    )
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)

    @field_validator("tenant")
    @classmethod
    def _tenant_id(cls, value: str) -> str:
        if not TENANT_ID.match(value):
            raise ValueError("must be lowercase letters, digits, '-' or '_' (at most 63)")
        return value


def load_bot_file(
    path: Path,
    known_tools: set[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> BotConfig:
    """Read and validate one bot file; every problem names the file and the field.

    ``${NAME}`` references are resolved from ``environ`` (the process environment
    by default); this runs once, at start-up or on an explicit reload.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read bot file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"bot file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"bot file {path} must hold a mapping at the top level")
    data = _expand_environment(
        raw, _Expansion(path, os.environ if environ is None else environ), ""
    )
    try:
        bot = BotConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, str(path))) from None
    _check_consistency(bot, path, known_tools)
    return bot


def _check_consistency(bot: BotConfig, path: Path, known_tools: set[str] | None) -> None:
    if bot.tenant != path.stem:
        raise ConfigError(
            f"invalid configuration in {path}:\n  tenant: is {bot.tenant!r} but the file is "
            f"named {path.name}; name the file <tenant>.yaml"
        )
    if known_tools is None:
        return
    unknown = sorted(set(bot.tools) - known_tools)
    if unknown:
        raise ConfigError(
            f"invalid configuration in {path}:\n  tools: unknown tool(s) {', '.join(unknown)}; "
            f"available: {', '.join(sorted(known_tools))}"
        )


class _Expansion:
    def __init__(self, path: Path, environ: Mapping[str, str]) -> None:
        self.path = path
        self.environ = environ

    def variable(self, name: str, default: str | None, location: str) -> str:
        if name not in self.environ and default is not None:
            return default
        if name not in self.environ:
            raise ConfigError(
                f"invalid configuration in {self.path}:\n"
                f"  {location}: environment variable {name} is not set"
            )
        return self.environ[name]


def _expand_environment(value: Any, expansion: _Expansion, location: str) -> Any:
    """Replace ``${NAME}`` in every string with the variable's value."""
    if isinstance(value, dict):
        return {
            k: _expand_environment(v, expansion, _join(location, str(k))) for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand_environment(v, expansion, _join(location, str(i))) for i, v in enumerate(value)
        ]
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(
            lambda match: expansion.variable(match.group(1), match.group(2), location), value
        )
    return value


def _join(location: str, key: str) -> str:
    return f"{location}.{key}" if location else key
