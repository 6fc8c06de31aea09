"""A turn's actions as outbox items, and their delivery through the conversation's channel."""

import logging
from typing import Any, Protocol

from agent.config.tenants import TenantRegistry
from agent.outcome import TurnOutcome
from agent.runtime.models import ApprovalRecord, InboundMessage, OutboxItem, TranscriptEntry
from tools.delivery.generic_callback import GenericCallbackClient

log = logging.getLogger(__name__)

REPLY = "reply"
HANDOFF = "handoff"
APPROVAL = "approval"
OPERATOR_REPLY = "operator_reply"  # an operator's words, sent from the admin API: always public


class Delivery(Protocol):
    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        """Send the item; raise tools.errors.DeliveryError when the channel refused it."""
        ...


def turn_items(
    answered: tuple[InboundMessage, ...], reply: TranscriptEntry, outcome: TurnOutcome
) -> tuple[OutboxItem, ...]:
    """The actions of one turn, each keyed so that a re-run turn produces the same keys."""
    items = [reply_item(reply.message_id, answered, reply.text, list(reply.citations))]
    if outcome.escalation is not None:
        escalation = outcome.escalation
        handoff = {
            "reason": escalation.reason.value,
            "priority": escalation.priority.value,
            "summary": escalation.summary,
        }
        items.append(OutboxItem(f"{reply.message_id}:handoff", HANDOFF, handoff))
    return tuple(items)


def approval_item(record: ApprovalRecord) -> OutboxItem:
    """Tells the tenant's side that an action waits for an operator (POST /admin/v1/approvals)."""
    payload = {
        "id": record.id,
        "tool": record.tool,
        "arguments": record.arguments,
        "reason": record.reason,
    }
    return OutboxItem(f"{record.id}:requested", APPROVAL, payload)


def reply_item(
    reply_id: str,
    answered: tuple[InboundMessage, ...],
    text: str,
    citations: list[dict[str, str]] | None = None,
) -> OutboxItem:
    payload: dict[str, Any] = {
        "message_id": reply_id,
        "in_reply_to": answered[-1].message_id,
        "answers": [message.message_id for message in answered],
        "text": text,
        "citations": citations or [],
    }
    return OutboxItem(reply_id, REPLY, payload)


def operator_reply_item(message_id: str, text: str, by: str) -> OutboxItem:
    """An operator's message to the customer (the message id is its idempotency key)."""
    payload = {"message_id": message_id, "text": text, "by": by}
    return OutboxItem(message_id, OPERATOR_REPLY, payload)


class GenericDelivery:
    """The generic channel's outbound half: a signed callback, when the tenant set one."""

    def __init__(self, tenants: TenantRegistry, client: GenericCallbackClient) -> None:
        self._tenants = tenants
        self._client = client

    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        tenant, _channel, conversation_id = conversation_key.split(":", 2)
        generic = self._tenants.get(tenant).channels.generic
        if generic is None or generic.callback_url is None:
            return  # the client reads replies with GET /v1/conversations/{key}
        secret = generic.signing_secrets[0].get_secret_value()
        conversation = {"id": conversation_id, "key": conversation_key}
        draft = self._tenants.get(tenant).channels.reply_mode == "draft"
        event = generic_event(conversation, item, draft)
        await self._client.send(generic.callback_url, secret, event, item.key)


def generic_event(
    conversation: dict[str, str], item: OutboxItem, draft: bool = False
) -> dict[str, object]:
    """The generic channel's callback event for one outbox item. In draft mode the bot's
    reply is ``message.drafted``: for a person to review, not for the customer (an operator
    sends it from the admin API, as ``message.created`` by the operator)."""
    if item.kind == HANDOFF:
        return {
            "type": "conversation.handoff",
            "conversation": conversation,
            "handoff": item.payload,
        }
    if item.kind == APPROVAL:
        return {
            "type": "approval.requested",
            "conversation": conversation,
            "approval": item.payload,
        }
    if item.kind == OPERATOR_REPLY:
        message = {"id": item.payload["message_id"], "text": item.payload["text"]}
        return {
            "type": "message.created",
            "conversation": conversation,
            "message": {**message, "author": "operator"},
        }
    fields = ("in_reply_to", "answers", "text", "citations")
    message = {key: item.payload[key] for key in fields if key in item.payload}
    return {
        "type": "message.drafted" if draft else "message.created",
        "conversation": conversation,
        "message": {"id": item.payload["message_id"], **message},
    }
