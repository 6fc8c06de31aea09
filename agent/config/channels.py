"""The bot file's ``channels:`` section: which helpdesks may call the tenant's webhooks,
with which secrets, and how the bot's answers go back.

```yaml
channels:
  reply_mode: draft            # autonomous (default): replies are public; draft: internal
                               # notes an agent reviews and sends
  chatwoot:
    secrets: ["${ACME_CHATWOOT_BOT_SECRET}"]      # the agent bot's secret (HMAC)
  zendesk:
    signing_secrets: ["${ACME_ZENDESK_WEBHOOK_SECRET}"]
  freshdesk:
    tokens: ["${ACME_FRESHDESK_WEBHOOK_TOKEN}"]   # no signature exists: a shared token
```

Every secret list takes two entries during a rotation (the old and the new secret); a
delivery passes when any one matches. ``url_tokens`` are accepted as ``?token=...`` on
``POST /webhooks/{tenant}/{channel}``: the documented fallback for senders that cannot
sign (Chatwoot instances older than its bot signing, or with no secret set). A channel
with no way to authenticate a delivery is a configuration error, never an open door.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

MIN_TOKEN_CHARS = 16


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _usable_secret(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value().strip():
        raise ValueError("must not be empty (is its environment variable set?)")
    return secret


def _long_token(secret: SecretStr) -> SecretStr:
    if len(secret.get_secret_value()) < MIN_TOKEN_CHARS:
        raise ValueError(f"a shared token must have at least {MIN_TOKEN_CHARS} characters")
    return secret


Secret = Annotated[SecretStr, AfterValidator(_usable_secret)]
Token = Annotated[SecretStr, AfterValidator(_long_token)]
Secrets = Annotated[list[Secret], Field(max_length=2, description="Two during a rotation.")]
Tokens = Annotated[list[Token], Field(max_length=2)]


def _values(secrets: list[SecretStr]) -> tuple[str, ...]:
    return tuple(secret.get_secret_value() for secret in secrets)


class _Channel(_Strict):
    url_tokens: Tokens = Field(
        default_factory=list,
        description="Accepted as ?token=... in the webhook URL (senders that cannot sign).",
    )

    def url_token_values(self) -> tuple[str, ...]:
        return _values(self.url_tokens)


class ChatwootChannelConfig(_Channel):
    """An Agent Bot (or API inbox) webhook: X-Chatwoot-Signature over "{ts}.{body}"."""

    secrets: Secrets = Field(default_factory=list)

    @model_validator(mode="after")
    def _authenticated(self) -> "ChatwootChannelConfig":
        if not self.secrets and not self.url_tokens:
            raise ValueError(
                "give secrets (the agent bot's secret) or, for instances that do not sign, "
                "url_tokens"
            )
        return self

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.secrets)


class ZendeskChannelConfig(_Channel):
    """A Zendesk Support webhook: X-Zendesk-Webhook-Signature over timestamp + body."""

    signing_secrets: Secrets = Field(min_length=1)
    bot_author_ids: list[str] = Field(
        default_factory=list, description="Users whose comments are the bot's own."
    )

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.signing_secrets)


class SunshineChannelConfig(_Channel):
    """Zendesk messaging (Sunshine Conversations): X-API-Key in, REST v2 out."""

    api_keys: Secrets = Field(min_length=1, description="The webhook's X-API-Key secret.")
    app_id: str = Field(min_length=1)
    key_id: str = Field(min_length=1, description="API key id (Basic auth user).")
    key_secret: Secret
    base_url: str = "https://api.smooch.io"
    integration_id: str | None = Field(
        default=None,
        description="This bot's integration id: with the switchboard on, deskhand acts only "
        "on conversations whose active switchboard integration is this one.",
    )
    handoff_target: str = Field(
        default="next", description="passControl target: 'next', or an integration id/name."
    )
    ai_disclaimer: bool = Field(default=True, description="Mark replies with the AI subtype.")
    timeout_s: float = Field(default=10.0, gt=0, le=60)

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.api_keys)


class IntercomChannelConfig(_Channel):
    """An Intercom app's webhooks: X-Hub-Signature, HMAC-SHA1 of the body with client_secret."""

    client_secrets: Secrets = Field(min_length=1)

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.client_secrets)


class FreshdeskChannelConfig(_Channel):
    """A Freshdesk automation rule's "Trigger webhook": Freshdesk does not sign, so the rule
    sends a shared token (a custom header, or Basic auth's password)."""

    tokens: Tokens = Field(default_factory=list)
    header: str = Field(default="X-Deskhand-Token", pattern=r"^[A-Za-z0-9-]{1,64}$")
    bot_agent_emails: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="E-mail of the agent whose API key deskhand uses: a ticket assigned to "
        "it is still the bot's (not a hand-off).",
    )

    @model_validator(mode="after")
    def _authenticated(self) -> "FreshdeskChannelConfig":
        if not self.tokens and not self.url_tokens:
            raise ValueError("give tokens (sent in the header or as Basic auth) or url_tokens")
        return self

    def token_values(self) -> tuple[str, ...]:
        return _values(self.tokens)


class HelpScoutChannelConfig(_Channel):
    """A Help Scout webhook: X-HelpScout-Signature, base64 HMAC-SHA1 of the body."""

    secrets: Secrets = Field(min_length=1)

    @model_validator(mode="after")
    def _short_enough(self) -> "HelpScoutChannelConfig":
        if any(len(value) > 40 for value in self.secret_values()):
            raise ValueError("Help Scout secrets have at most 40 characters")
        return self

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.secrets)


class FrontChannelConfig(_Channel):
    """A Front application webhook: X-Front-Signature over "{timestamp ms}:{body}"."""

    signing_keys: Secrets = Field(min_length=1)

    def secret_values(self) -> tuple[str, ...]:
        return _values(self.signing_keys)


class LoopGuardConfig(_Strict):
    """When the bot stops talking by itself (another bot or an auto-responder on the line)."""

    max_bot_turns: int = Field(
        default=3, ge=1, le=50, description="Bot replies in a row with no customer message."
    )
    fast_replies: int = Field(
        default=3,
        ge=2,
        le=50,
        description="E-mail conversations: customer messages in a row that each came within "
        "fast_reply_s of the bot's reply (a machine answering).",
    )
    fast_reply_s: float = Field(default=20.0, gt=0, le=3600)


REPLY_MODES = ("autonomous", "draft")


class HelpdeskChannels(_Strict):
    """The helpdesk channels; ``agent.config.botfile.ChannelsConfig`` adds ``generic``."""

    reply_mode: Literal["autonomous", "draft"] = Field(
        default="autonomous",
        description="draft: replies are posted as internal notes for an agent to send.",
    )
    loop_guard: LoopGuardConfig = Field(default_factory=LoopGuardConfig)
    chatwoot: ChatwootChannelConfig | None = None
    zendesk: ZendeskChannelConfig | None = None
    sunshine: SunshineChannelConfig | None = None
    intercom: IntercomChannelConfig | None = None
    freshdesk: FreshdeskChannelConfig | None = None
    helpscout: HelpScoutChannelConfig | None = None
    front: FrontChannelConfig | None = None


# Channels whose outbound half is the tenant's helpdesk client (``helpdesk.platform``).
HELPDESK_CHANNELS = ("chatwoot", "zendesk", "intercom", "freshdesk", "helpscout", "front")
