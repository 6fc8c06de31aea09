"""An operator's actions on a conversation, queued for the worker that holds it.

Each action is a message in the conversation's mailbox, so the worker applies it under the
conversation's claim, in order with the customer's messages and the turns in progress:
take over and hand back are ``MODE_CHANGE`` messages (agent.turns), the rest
``OPERATOR_ACTION`` messages (agent.operator_turns). A message as the operator goes into
the outbox like the bot's replies and is delivered once through the channel. Approvals
are decided with agent.approvals.decide (recorded at once, resumed by the worker).
Queuing the same draft twice is refused (its message id is derived from the draft's).
"""

import uuid
from typing import Any

from agent.admin.conversations import require_conversation
from agent.approvals import ApprovalNotFound, decide
from agent.errors import DeskhandError
from agent.operator_turns import DRAFT_DISCARD, DRAFT_SEND, RESOLVE, SEND
from agent.runtime.factory import Runtime
from agent.runtime.models import (
    MODE_CHANGE,
    OPERATOR_ACTION,
    ApprovalRecord,
    InboundMessage,
    Mode,
    approval_conversation,
)
from tools.context import Customer


class ActionConflict(DeskhandError):
    """The action does not fit the conversation's state (no draft, sent already...)."""


async def take_over(runtime: Runtime, key: str, by: str) -> str:
    """The bot stops answering; a person owns the conversation (mode manual)."""
    await require_conversation(runtime, key)
    data = {"mode": Mode.MANUAL.value, "reason": f"taken over by {by}", "source": "operator"}
    return await _queue(runtime, key, MODE_CHANGE, {**data, "by": by})


async def hand_back(runtime: Runtime, key: str, by: str) -> str:
    """The bot answers again (mode auto)."""
    await require_conversation(runtime, key)
    data = {"mode": Mode.AUTO.value, "reason": f"handed back by {by}", "source": "operator"}
    return await _queue(runtime, key, MODE_CHANGE, {**data, "by": by})


async def send_message(runtime: Runtime, key: str, text: str, by: str) -> str:
    """The operator's words to the customer, through the conversation's channel."""
    await require_conversation(runtime, key)
    return await _queue(runtime, key, OPERATOR_ACTION, {"action": SEND, "text": text, "by": by})


async def send_draft(runtime: Runtime, key: str, by: str, text: str | None) -> str:
    """Send the bot's waiting draft (or the operator's edit of it) to the customer."""
    draft = await _draft(runtime, key)
    data = {"action": DRAFT_SEND, "text": text or draft["text"], "by": by, "draft_of": draft["id"]}
    return await _queue(runtime, key, OPERATOR_ACTION, data, f"{draft['id']}:sent")


async def discard_draft(runtime: Runtime, key: str, by: str) -> str:
    draft = await _draft(runtime, key)
    data = {"action": DRAFT_DISCARD, "by": by, "draft_of": draft["id"]}
    return await _queue(runtime, key, OPERATOR_ACTION, data, f"{draft['id']}:discarded")


async def resolve(runtime: Runtime, key: str, by: str) -> str:
    """Close the conversation: listed as resolved until the customer writes again (the
    bot answers then: the mode goes back to auto)."""
    await require_conversation(runtime, key)
    return await _queue(runtime, key, OPERATOR_ACTION, {"action": RESOLVE, "by": by})


async def decide_approval(
    runtime: Runtime, key: str, approval_id: str, approve: bool, by: str, note: str | None
) -> ApprovalRecord:
    """Record the decision and queue it; ApprovalNotFound also for another conversation's
    approval, ApprovalNotPending when it was decided already."""
    if approval_conversation(approval_id) != key:
        raise ApprovalNotFound(f"no approval {approval_id!r} in conversation {key!r}")
    return await decide(runtime.mailboxes, approval_id, approve, by, note)


async def _draft(runtime: Runtime, key: str) -> dict[str, str]:
    summary = await require_conversation(runtime, key)
    draft = summary.draft if summary else None
    if not draft:
        raise ActionConflict("no draft reply is waiting in this conversation")
    return {"id": str(draft["message_id"]), "text": str(draft["text"])}


async def _queue(
    runtime: Runtime, key: str, kind: str, data: dict[str, Any], message_id: str | None = None
) -> str:
    tenant, channel, conversation_id = key.split(":", 2)
    message = InboundMessage(
        tenant=tenant,
        channel=channel,
        conversation_id=conversation_id,
        message_id=message_id or f"op-{uuid.uuid4().hex}",
        text="",
        customer=Customer(""),
        kind=kind,
        data=data,
    )
    if not await runtime.mailboxes.append(message, delay_s=0.0):
        raise ActionConflict("this draft was sent or discarded already")
    return message.message_id
