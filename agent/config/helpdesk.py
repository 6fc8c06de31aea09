"""The bot file's ``helpdesk:`` section: which ticketing backend a tenant uses, and how to reach it.

```yaml
helpdesk:
  platform: zendesk            # builtin (default), zendesk, freshdesk, chatwoot, intercom,
                               # helpscout or front
  subdomain: acme
  email: bot@acme.example
  api_token: ${ACME_ZENDESK_TOKEN}
  timeout_s: 10                # per request
  retry: {max_retries: 2, backoff_base_s: 0.5, backoff_max_s: 4}
  tool_timeout_s: 30           # a ticketing tool call, every request and retry included
```
One model per platform mirrors that platform's ``<Platform>Config`` (tools/ticketing/);
credentials are ``SecretStr``, to be given as ``${NAME}`` references. ``options()`` turns a
section into the plain options ``tools.ticketing.factory`` builds the backend from.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)

from tools.ticketing.factory import PLATFORMS

_SUBDOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _not_empty(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value().strip():
        raise ValueError("must not be empty (is its environment variable set?)")
    return secret


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


def _digits(value: str) -> str:
    if not value.isdigit():
        raise ValueError("must be a numeric id")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_empty)]
Url = Annotated[str, AfterValidator(_http_url)]
NumericId = Annotated[str, AfterValidator(_digits)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    tool_timeout_s: float = Field(
        default=30.0, gt=0, le=110, description="A ticketing tool call, every request included."
    )

    def options(self) -> dict[str, Any]:
        """The plain options for ``open_ticketing_backend`` (secrets revealed: keep them
        out of logs)."""
        dumped = self.model_dump(exclude={"platform", "tool_timeout_s"})
        return {name: _reveal(getattr(self, name), value) for name, value in dumped.items()}


def _reveal(attribute: Any, dumped: Any) -> Any:
    return attribute.get_secret_value() if isinstance(attribute, SecretStr) else dumped


class RetrySection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_retries: int = Field(default=2, ge=0, le=5)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=4.0, ge=0, le=30)


class _Remote(_Section):
    """What every cloud helpdesk section has: per-request bounds."""

    base_url: Url | None = None  # each platform says whether it has a default
    timeout_s: float = Field(default=10.0, gt=0, le=60, description="Per request.")
    retry: RetrySection = Field(default_factory=RetrySection)

    def where(self) -> str:
        """The helpdesk's address, for people (never a credential)."""
        return self.base_url or ""


class BuiltinHelpdesk(_Section):
    """The built-in SQLite store (the default): ``<data dir>/tickets/<tenant>.sqlite3``."""

    platform: Literal["builtin"] = "builtin"
    bot_author_id: str = "deskhand"
    handoff_group_id: str | None = None
    tool_timeout_s: float = Field(default=10.0, gt=0, le=110)


class ZendeskHelpdesk(_Remote):
    platform: Literal["zendesk"]
    subdomain: str | None = Field(default=None, pattern=_SUBDOMAIN.pattern)
    base_url: Url | None = None
    email: str | None = None
    api_token: Secret | None = None
    oauth_token: Secret | None = None
    bot_agent_id: NumericId | None = None
    handoff_group_id: NumericId | None = None

    @model_validator(mode="after")
    def _where_and_who(self) -> "ZendeskHelpdesk":
        if self.subdomain is None and self.base_url is None:
            raise ValueError("give subdomain (acme for acme.zendesk.com) or base_url")
        if self.oauth_token is None and (self.email is None or self.api_token is None):
            raise ValueError("give email and api_token, or oauth_token")
        if self.oauth_token is not None and self.api_token is not None:
            raise ValueError("give email and api_token, or oauth_token, not both")
        return self

    def where(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


class FreshdeskHelpdesk(_Remote):
    platform: Literal["freshdesk"]
    base_url: Url = Field(description="https://acme.freshdesk.com")
    api_key: Secret
    human_group_id: int | None = None


class ChatwootHelpdesk(_Remote):
    platform: Literal["chatwoot"]
    base_url: Url
    account_id: int
    access_token: Secret
    handoff_team_id: int | None = None
    inbox_id: int | None = None


class IntercomHelpdesk(_Remote):
    platform: Literal["intercom"]
    access_token: Secret
    admin_id: str
    base_url: Url = "https://api.intercom.io"
    api_version: str = "2.14"
    handoff_team_id: str | None = None
    snooze_s: int = Field(default=86_400, ge=1)


class HelpScoutHelpdesk(_Remote):
    platform: Literal["helpscout"]
    client_id: Secret
    client_secret: Secret
    mailbox_id: str
    base_url: Url = "https://api.helpscout.net"
    user_id: str | None = None
    handoff_mailbox_id: str | None = None
    handoff_user_id: str | None = None


class FrontHelpdesk(_Remote):
    platform: Literal["front"]
    api_token: Secret
    teammate_id: str
    base_url: Url = "https://api2.frontapp.com"
    inbox_id: str | None = None
    inbox_address: str | None = None
    handoff_inbox_id: str | None = None
    handoff_teammate_id: str | None = None
    import_poll_s: float = Field(default=0.5, gt=0, le=10)
    import_poll_attempts: int = Field(default=10, ge=1, le=60)


def _known_platform(value: object) -> object:
    """A clearer message than the union's when ``platform`` is missing or unknown."""
    if isinstance(value, dict):
        platform = value.get("platform")
        if platform not in PLATFORMS:
            given = "no platform" if platform is None else f"unknown platform {platform!r}"
            raise ValueError(f"{given}; give platform: one of {', '.join(PLATFORMS)}")
    return value


HelpdeskConfig = Annotated[
    BuiltinHelpdesk
    | ZendeskHelpdesk
    | FreshdeskHelpdesk
    | ChatwootHelpdesk
    | IntercomHelpdesk
    | HelpScoutHelpdesk
    | FrontHelpdesk,
    Field(discriminator="platform"),
    BeforeValidator(_known_platform),
]
