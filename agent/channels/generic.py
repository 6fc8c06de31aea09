"""The generic channel: our own JSON, signed with Standard Webhooks.

    POST /webhooks/{tenant}/generic
    webhook-id / webhook-timestamp / webhook-signature
    {"type": "message.created",
     "conversation": {"id": "c-1"},
     "message": {"id": "m-1", "text": "Where is my order?"},
     "customer": {"id": "cust_1001", "email": "alex@example.com", "name": "Alex", "locale": "en"}}

The signature proves the payload comes from the tenant's own integration, which is
why the customer it names is trusted as verified.
"""

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.channels.base import (
    ChannelNotConfigured,
    Delivery,
    EventKind,
    InboundEvent,
    SignatureInvalid,
)
from agent.channels.payload import parse_body
from agent.config.botfile import BotConfig
from tools.context import Customer
from tools.errors import SignatureError
from tools.signing import standard_webhooks

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$"
MAX_TEXT_CHARS = 20_000


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenericConversation(_Payload):
    id: str = Field(pattern=ID_PATTERN)


class GenericMessage(_Payload):
    id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class GenericCustomer(_Payload):
    id: str = Field(min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=35)


class GenericEvent(_Payload):
    type: Literal["message.created"]
    conversation: GenericConversation
    message: GenericMessage
    customer: GenericCustomer


class GenericChannel:
    name = "generic"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.generic
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no generic channel")
        secrets = [secret.get_secret_value() for secret in config.signing_secrets]
        try:
            delivery_id = standard_webhooks.verify(secrets, headers, body, tolerance_s)
        except SignatureError as error:
            raise SignatureInvalid(f"webhook signature rejected: {error}") from None
        event = parse_event(body)
        return Delivery(delivery_id, [to_event(event)])


def parse_event(body: bytes) -> GenericEvent:
    return parse_body(GenericEvent, body)


def to_event(event: GenericEvent) -> InboundEvent:
    customer = event.customer
    return InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=event.conversation.id,
        event_id=event.message.id,
        text=event.message.text,
        customer=Customer(customer.id, customer.email, customer.name, customer.locale),
    )
