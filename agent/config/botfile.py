"""The per-tenant bot file: who the bot is, what it may do and how it reaches the tenant.

A bot file is YAML, one per tenant, named ``<tenant>.yaml``. String values may
reference environment variables as ``${NAME}`` (or ``${NAME:-default}``); a missing
variable without a default is an error that names the field and the file. Unknown
keys are errors too, so a typo never silently disables a setting. ``tools_file`` names
the tenant's declarative HTTP tools (``tools.http_tools``), relative to the bot file;
``helpdesk`` the ticketing backend (``agent.config.helpdesk``; the built-in store when absent).
"""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.config.channels import HELPDESK_CHANNELS, HelpdeskChannels
from agent.config.defaults import HUMAN_REQUEST_PHRASES
from agent.config.errors import describe_validation_error
from agent.config.helpdesk import BuiltinHelpdesk, HelpdeskConfig
from agent.config.intents import Intents
from agent.config.localized import (
    APPROVAL,
    BUSY,
    DECLINED,
    HOLDING,
    NEUTRAL,
    Localized,
)
from agent.errors import ConfigError
from tools.envref import MissingVariable, expand_references
from tools.http_tools.hosts import HostPattern
from tools.yaml_safe import safe_load

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_LIMIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardConfig(_Strict):
    """What the guard does before anything acts on a message."""

    max_message_chars: int = Field(default=4000, ge=100, le=100_000)
    injection_reply: Localized = Field(
        default_factory=lambda: dict(NEUTRAL),
        description="The answer to a message that tries to change the assistant's instructions.",
    )


class VipConfig(_Strict):
    """Customers a person always serves: by id, e-mail, or e-mail domain."""

    customer_ids: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    email_domains: list[str] = Field(default_factory=list)

    def matches(self, customer_id: str | None, email: str | None) -> bool:
        address = (email or "").casefold()
        domain = address.rpartition("@")[2]
        return (
            (customer_id is not None and customer_id in self.customer_ids)
            or (bool(address) and address in {e.casefold() for e in self.emails})
            or (bool(domain) and domain in {d.casefold() for d in self.email_domains})
        )


SENSITIVE_TOPICS = ("legal", "security", "medical_safety")
ESCALATION_REASONS = (  # agent.graph.state.EscalationReason's values (a test keeps them equal)
    "customer_request",
    "model_unavailable",
    "low_confidence",
    "tool_failure",
    "approval_required",
    "frustration",
    "sensitive_topic",
    "too_many_turns",
    "vip",
    "abuse",
    "model_request",
    "ungrounded",
)


class EscalationConfig(_Strict):
    """When the bot hands the conversation to a person; each rule can be switched off."""

    human_request_phrases: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in HUMAN_REQUEST_PHRASES.items()}
    )
    holding_message: Localized = Field(default_factory=lambda: dict(HOLDING))
    frustration_turns: int | None = Field(
        default=2, ge=1, description="Consecutive negative customer turns; null: never."
    )
    low_confidence_turns: int | None = Field(
        default=2, ge=1, description="Consecutive turns the knowledge base did not answer."
    )
    sensitive_topics: list[str] = Field(
        default_factory=lambda: list(SENSITIVE_TOPICS),
        description="Topics a person handles: legal, security, medical_safety.",
    )
    max_turns: int | None = Field(
        default=12, ge=1, description="Bot turns in one conversation before a person takes over."
    )
    vip: VipConfig = Field(default_factory=VipConfig)
    model_may_escalate: bool = Field(
        default=True, description="Offer the model an escalate_to_human tool."
    )
    abuse: bool = Field(default=True, description="Hand abusive conversations to a person.")
    min_grounding: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Share of a knowledge answer's sentences the passages must support.",
    )
    priorities: dict[str, Literal["low", "normal", "high", "urgent"]] = Field(
        default_factory=dict,
        description="Priority per escalation reason (e.g. sensitive_topic: urgent).",
    )
    approval_message: Localized = Field(default_factory=lambda: dict(APPROVAL))
    declined_message: Localized = Field(default_factory=lambda: dict(DECLINED))

    @field_validator("priorities")
    @classmethod
    def _known_reasons(cls, priorities: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(priorities) - set(ESCALATION_REASONS))
        if unknown:
            raise ValueError(f"unknown reason(s) {unknown}; known: {list(ESCALATION_REASONS)}")
        return priorities

    @field_validator("sensitive_topics")
    @classmethod
    def _known_topics(cls, topics: list[str]) -> list[str]:
        unknown = sorted(set(topics) - set(SENSITIVE_TOPICS))
        if unknown:
            raise ValueError(f"unknown topic(s) {unknown}; known: {list(SENSITIVE_TOPICS)}")
        return topics

    def all_phrases(self) -> list[str]:
        return [p.lower() for phrases in self.human_request_phrases.values() for p in phrases]


class RetrievalConfig(_Strict):
    top_k: int = Field(default=4, ge=1, le=20)
    min_score: float = Field(
        default=0.58,
        ge=0.0,
        le=1.0,
        description="Retrieval confidence a passage needs to be quoted without a model "
        "(calibrated with `deskhand bench quote`, docs/degraded.md).",
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
    history_token_budget: int = Field(
        default=3000,
        ge=500,
        le=200_000,
        description="Estimated tokens of earlier turns sent; older turns are summarised.",
    )


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


class ChannelsConfig(HelpdeskChannels):
    generic: GenericChannelConfig | None = None


class LimitsConfig(_Strict):
    """How much of the shared capacity one tenant may use, and what waiting customers read."""

    turns_per_minute: int | None = Field(
        default=None, ge=1, description="Turns started per minute; more wait in the mailbox."
    )
    model_tokens_per_day: int | None = Field(
        default=None, ge=1, description="Model tokens per UTC day; then answers go degraded."
    )
    busy_message: Localized = Field(
        default_factory=lambda: dict(BUSY),
        description="Sent when a message has waited longer than DESKHAND_MAX_MESSAGE_AGE_S.",
    )


class BotConfig(_Strict):
    """One tenant's bot, as written in its YAML file."""

    tenant: str
    company: str = Field(min_length=1)
    persona: str = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    max_reply_chars: int = Field(default=1500, ge=100, le=20000)
    tools: list[str] = Field(default_factory=list, description="Tools this bot may call.")
    tools_file: Path | None = Field(
        default=None, description="Declarative HTTP tools (YAML), relative to the bot file."
    )
    tool_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts the HTTP tools may call: 'host', 'host:port' or '*.domain'.",
    )
    approvals: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Named limits the tools' approval rules refer to (refund_threshold_eur: 50).",
    )
    api_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens of the tenant's own API clients."
    )
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    helpdesk: HelpdeskConfig = Field(
        default_factory=BuiltinHelpdesk, description="The ticketing backend (platform: ...)."
    )
    intents: Intents = Field(default_factory=list, description="Deterministic, no-model answers.")

    @model_validator(mode="after")
    def _channels_match_the_helpdesk(self) -> "BotConfig":
        platform = self.helpdesk.platform
        for channel in HELPDESK_CHANNELS:
            if getattr(self.channels, channel) is not None and platform != channel:
                raise ValueError(
                    f"channels.{channel} answers through the {channel} API: set "
                    f"helpdesk.platform: {channel} (it is {platform})"
                )
        return self

    @field_validator("tenant")
    @classmethod
    def _tenant_id(cls, value: str) -> str:
        if not TENANT_ID.match(value):
            raise ValueError("must be lowercase letters, digits, '-' or '_' (at most 63)")
        return value

    @field_validator("tool_hosts")
    @classmethod
    def _tool_hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            HostPattern.parse(host)  # ValueError names what is wrong
        return hosts

    @field_validator("approvals")
    @classmethod
    def _limit_names(cls, limits: dict[str, float]) -> dict[str, float]:
        for name in limits:
            if not _LIMIT_NAME.match(name):
                raise ValueError(f"{name!r}: names are lowercase letters, digits and '_'")
        return limits


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
        raw = safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read bot file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"bot file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"bot file {path} must hold a mapping at the top level")
    try:
        data = expand_references(raw, os.environ if environ is None else environ)
    except MissingVariable as error:
        raise ConfigError(f"invalid configuration in {path}:\n  {error}") from None
    try:
        bot = BotConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, str(path))) from None
    bot = _resolve_tools_file(bot, path)
    _check_consistency(bot, path, known_tools)
    return bot


def _resolve_tools_file(bot: BotConfig, path: Path) -> BotConfig:
    """``tools_file`` as an absolute path (relative ones are relative to the bot file)."""
    if bot.tools_file is None:
        return bot
    resolved = (path.parent / bot.tools_file).resolve()
    if not resolved.is_file():
        raise ConfigError(
            f"invalid configuration in {path}:\n  tools_file: {resolved} does not exist"
        )
    return bot.model_copy(update={"tools_file": resolved})


def _check_consistency(bot: BotConfig, path: Path, known_tools: set[str] | None) -> None:
    if bot.tenant != path.stem:
        raise ConfigError(
            f"invalid configuration in {path}:\n  tenant: is {bot.tenant!r} but the file is "
            f"named {path.name}; name the file <tenant>.yaml"
        )
    if known_tools is not None:
        check_enabled_tools(bot, path, known_tools)


def check_enabled_tools(bot: BotConfig, path: Path | str, known_tools: set[str]) -> None:
    """Every tool the bot enables must exist (built in, or declared in its tools file)."""
    unknown = sorted(set(bot.tools) - known_tools)
    if unknown:
        available = ", ".join(sorted(known_tools)) or "none"
        raise ConfigError(
            f"invalid configuration in {path}:\n  tools: unknown tool(s) {', '.join(unknown)}; "
            f"available: {available}"
        )
