"""The sunshine channel: Zendesk messaging (Sunshine Conversations) webhooks.

    POST /webhooks/{tenant}/sunshine
    X-API-Key: <the webhook's shared secret>
    {"app": {"id": ...}, "webhook": {"id": ..., "version": "v2"}, "events": [...]}

Sunshine Conversations does not sign: the webhook's shared secret arrives in ``X-API-Key``
and is compared in constant time with ``channels.sunshine.api_keys`` (reference §3b).
Deliveries are batched; each event's ``id`` is stable across SunCo's retries.

- ``conversation:message`` by a ``user`` with text content: a customer message. In a
  conversation whose active switchboard integration is another one (an agent workspace,
  another bot), it is recorded after a ``manual`` event, never answered.
- ``business`` messages (the bot's own, or an agent's): ignored; ownership follows the
  switchboard's events.
- ``switchboard:passControl`` / ``switchboard:acceptControl``: control given to this
  integration -> ``auto``; to another -> ``manual`` (assignment). Needs ``integration_id``.
- Every other event type: acknowledged and ignored.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.channels.base import (
    ASSIGNMENT,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    Ignored,
    InboundEvent,
)
from agent.channels.payload import load_json, parse
from agent.channels.sync_events import owner_first
from agent.channels.verify import header, require_token
from agent.config.botfile import BotConfig
from agent.config.channels import SunshineChannelConfig
from tools.context import Customer

MESSAGE = "conversation:message"
CONTROL_EVENTS = ("switchboard:passControl", "switchboard:acceptControl")
Outcome = InboundEvent | Ignored


class _Lenient(BaseModel):
    """SunCo sends many more fields than these: unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class SunshineSwitchboardIntegration(_Lenient):
    id: str | None = None
    integration_id: str | None = Field(default=None, alias="integrationId")
    name: str | None = None
    integration_type: str | None = Field(default=None, alias="integrationType")

    def label(self) -> str:
        return self.name or self.integration_type or self.integration_id or self.id or "?"


class SunshineConversation(_Lenient):
    id: str = Field(min_length=1, max_length=128)
    active: SunshineSwitchboardIntegration | None = Field(
        default=None, alias="activeSwitchboardIntegration"
    )


class SunshineProfile(_Lenient):
    email: str | None = Field(default=None, max_length=320)
    locale: str | None = Field(default=None, max_length=35)


class SunshineUser(_Lenient):
    id: str | None = None
    external_id: str | None = Field(default=None, alias="externalId", max_length=256)
    authenticated: bool = False
    profile: SunshineProfile | None = None


class SunshineAuthor(_Lenient):
    type: str
    user_id: str | None = Field(default=None, alias="userId", max_length=128)
    display_name: str | None = Field(default=None, alias="displayName", max_length=200)
    user: SunshineUser | None = None


class SunshineContent(_Lenient):
    type: str
    text: str | None = None


class SunshineSource(_Lenient):
    type: str | None = None


class SunshineMessage(_Lenient):
    id: str = Field(min_length=1, max_length=128)
    author: SunshineAuthor
    content: SunshineContent
    source: SunshineSource | None = None


class SunshineMessagePayload(_Lenient):
    conversation: SunshineConversation
    message: SunshineMessage


class SunshineControlPayload(_Lenient):
    conversation: SunshineConversation


class SunshineEvent(_Lenient):
    id: str = Field(min_length=1, max_length=128)
    type: str
    payload: Any = None


class SunshineBatch(_Lenient):
    events: list[SunshineEvent]


class SunshineChannel:
    name = "sunshine"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.sunshine
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no sunshine channel")
        require_token(config.secret_values(), header(headers, "X-API-Key"), "the X-API-Key")
        batch = parse(SunshineBatch, load_json(body))
        outcomes = [outcome for event in batch.events for outcome in outcomes_of(event, config)]
        return Delivery(
            delivery_id=delivery_id(batch),
            events=[o for o in outcomes if isinstance(o, InboundEvent)],
            ignored=[o for o in outcomes if isinstance(o, Ignored)],
        )


def delivery_id(batch: SunshineBatch) -> str:
    """The one event's id, or a digest of all of them (stable across SunCo's retries)."""
    ids = [event.id for event in batch.events]
    if len(ids) == 1:
        return ids[0]
    return "batch-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]


def outcomes_of(event: SunshineEvent, config: SunshineChannelConfig) -> list[Outcome]:
    if event.type == MESSAGE:
        return message_outcomes(parse(SunshineMessagePayload, event.payload), config)
    if event.type in CONTROL_EVENTS:
        return [control_outcome(event, parse(SunshineControlPayload, event.payload), config)]
    return [Ignored(event.id, f"event type {event.type[:80]!r} is not acted on")]


def message_outcomes(
    payload: SunshineMessagePayload, config: SunshineChannelConfig
) -> list[Outcome]:
    message, conversation = payload.message, payload.conversation
    author = message.author
    if author.type != "user":
        return [Ignored(message.id, f"a {author.type[:40]} message (the bot's own or an agent's)")]
    if message.content.type != "text" or not (message.content.text or "").strip():
        kind = message.content.type[:40]
        return [Ignored(message.id, f"a {kind} message: only text messages are answered")]
    customer_event = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=conversation.id,
        event_id=message.id,
        text=message.content.text or "",
        customer=customer_of(author),
        data={"source": message.source.type} if message.source and message.source.type else {},
    )
    owner = other_owner(conversation, config)
    if owner is None:
        return [customer_event]
    reason = f"the switchboard gives the conversation to {owner}"
    return list(owner_first(customer_event, ASSIGNMENT, reason))


def customer_of(author: SunshineAuthor) -> Customer:
    """The customer as SunCo knows them: the business's own ``externalId`` where set, else
    the SunCo user id. The profile's e-mail is trusted only for an authenticated user (a
    JWT login): an anonymous messenger user can type any address."""
    user = author.user
    if user is None:
        return Customer(id=author.user_id or "", name=author.display_name)
    profile = user.profile
    return Customer(
        id=user.external_id or author.user_id or user.id or "",
        email=profile.email if profile and user.authenticated else None,
        name=author.display_name,
        locale=profile.locale if profile else None,
    )


def is_ours(active: SunshineSwitchboardIntegration, config: SunshineChannelConfig) -> bool:
    own = config.integration_id
    return own is not None and own in (active.integration_id, active.id)


def other_owner(conversation: SunshineConversation, config: SunshineChannelConfig) -> str | None:
    """The active switchboard integration when it is not this bot (None: the bot acts)."""
    active = conversation.active
    if config.integration_id is None or active is None or is_ours(active, config):
        return None
    return active.label()


def control_outcome(
    event: SunshineEvent, payload: SunshineControlPayload, config: SunshineChannelConfig
) -> Outcome:
    conversation = payload.conversation
    active = conversation.active
    if config.integration_id is None:
        return Ignored(event.id, "set channels.sunshine.integration_id to follow the switchboard")
    if active is None:
        return Ignored(event.id, "the switchboard event names no active integration")
    if is_ours(active, config):
        return InboundEvent(
            kind=EventKind.AUTO,
            conversation_id=conversation.id,
            event_id=event.id,
            reason="the switchboard gave the conversation back to the bot",
        )
    return InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=conversation.id,
        event_id=event.id,
        reason=f"the switchboard passed the conversation to {active.label()}",
        cause=ASSIGNMENT,
    )
