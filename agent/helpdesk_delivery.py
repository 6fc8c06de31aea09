"""A turn's outbox items through the tenant's helpdesk client (Chatwoot, Zendesk, Intercom,
Freshdesk, Help Scout, Front).

The platform conversation (or ticket) id is the last part of the conversation key. A
reply is a public comment, or, in draft mode, an internal note an agent reviews and sends;
an operator's message from the admin API is a public comment;
a hand-off is the platform's hand-off call (route to people, note the summary, tag, set
the priority); an approval request is an internal note. Each call carries the outbox
item's key as its idempotency key, so a re-delivered item acts once.
"""

from agent.config.tenants import TenantRegistry
from agent.delivery import APPROVAL, HANDOFF, OPERATOR_REPLY, REPLY
from agent.runtime.models import OutboxItem
from agent.tenant_helpdesks import TenantHelpdesks
from tools.ticketing.base import Handoff, TicketPriority

_PRIORITIES = {priority.value for priority in TicketPriority}
DRAFT_HEADER = "Suggested reply from the bot (draft: review, edit and send it yourself):"


class HelpdeskDelivery:
    def __init__(self, tenants: TenantRegistry, helpdesks: TenantHelpdesks) -> None:
        self._tenants = tenants
        self._helpdesks = helpdesks

    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        tenant, _channel, ticket_id = conversation_key.split(":", 2)
        backend = self._helpdesks.get(tenant)
        if item.kind == REPLY:
            draft = self._tenants.get(tenant).channels.reply_mode == "draft"
            text = str(item.payload["text"])
            body = f"{DRAFT_HEADER}\n\n{text}" if draft else text
            await backend.comment(ticket_id, body, not draft, item.key)
        elif item.kind == OPERATOR_REPLY:  # sent by an operator from the admin API
            await backend.comment(ticket_id, str(item.payload["text"]), True, item.key)
        elif item.kind == HANDOFF:
            await backend.hand_off(ticket_id, handoff_of(item), item.key)
        elif item.kind == APPROVAL:
            await backend.comment(ticket_id, approval_note(item), False, item.key)


def handoff_of(item: OutboxItem) -> Handoff:
    payload = item.payload
    priority = payload.get("priority")
    return Handoff(
        reason=str(payload.get("reason", "")),
        summary=str(payload.get("summary", "")),
        priority=TicketPriority(priority) if priority in _PRIORITIES else None,
    )


def approval_note(item: OutboxItem) -> str:
    payload = item.payload
    return (
        f"The bot is waiting for an operator's approval (id {payload.get('id')}): "
        f"{payload.get('tool')} {payload.get('arguments')}. Reason: {payload.get('reason')}. "
        "Approve or decline it in the deskhand admin API (deskhand approve)."
    )
