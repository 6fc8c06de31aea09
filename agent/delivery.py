"""Send a turn's outcome back through the channel the message came from."""

import logging
from typing import Protocol

from agent.config.tenants import TenantRegistry
from agent.outcome import TurnOutcome
from agent.runtime.models import InboundMessage, TranscriptEntry
from tools.delivery.generic_callback import GenericCallbackClient
from tools.errors import DeliveryError

log = logging.getLogger(__name__)


class Delivery(Protocol):
    async def deliver(
        self, message: InboundMessage, reply: TranscriptEntry, outcome: TurnOutcome
    ) -> None: ...


class ChannelDelivery:
    """Routes outcomes by channel. Failures are logged; the transcript already holds the reply."""

    def __init__(self, tenants: TenantRegistry, generic: GenericCallbackClient) -> None:
        self._tenants = tenants
        self._generic = generic

    async def deliver(
        self, message: InboundMessage, reply: TranscriptEntry, outcome: TurnOutcome
    ) -> None:
        if message.channel != "generic":
            log.error("no outbound client for channel", extra={"channel": message.channel})
            return
        channel = self._tenants.get(message.tenant).channels.generic
        if channel is None or channel.callback_url is None:
            return  # the client reads replies with GET /v1/conversations/{key}
        secret = channel.signing_secrets[0].get_secret_value()
        try:
            for event_id, event in generic_events(message, reply, outcome):
                await self._generic.send(channel.callback_url, secret, event, event_id)
        except DeliveryError as error:
            log.error(
                "reply not delivered to the callback URL",
                extra={"conversation": message.conversation_key, "error": str(error)},
            )


def generic_events(
    message: InboundMessage, reply: TranscriptEntry, outcome: TurnOutcome
) -> list[tuple[str, dict[str, object]]]:
    """The callback events of one turn, each with its idempotency key."""
    conversation = {"id": message.conversation_id, "key": message.conversation_key}
    events: list[tuple[str, dict[str, object]]] = [
        (
            f"{reply.message_id}",
            {
                "type": "message.created",
                "conversation": conversation,
                "message": {
                    "id": reply.message_id,
                    "in_reply_to": message.message_id,
                    "text": reply.text,
                    "citations": list(reply.citations),
                },
            },
        )
    ]
    if outcome.escalation is not None:
        escalation = outcome.escalation
        events.append(
            (
                f"{reply.message_id}:handoff",
                {
                    "type": "conversation.handoff",
                    "conversation": conversation,
                    "handoff": {
                        "reason": escalation.reason.value,
                        "priority": escalation.priority.value,
                        "summary": escalation.summary,
                    },
                },
            )
        )
    return events
