"""An operator's decision on a paused action: recorded once, queued for the worker.

The decision goes into the conversation's mailbox as a message of its own kind, so the
worker that holds the conversation resumes the paused turn under the conversation's lease,
in order with the customer's messages.
"""

import time
from dataclasses import replace

from agent.errors import DeskhandError
from agent.runtime.models import (
    APPROVAL_DECISION,
    ApprovalRecord,
    ApprovalStatus,
    InboundMessage,
)
from agent.runtime.stores import Mailboxes
from tools.context import Customer


class ApprovalNotFound(DeskhandError):
    pass


async def decide(
    mailboxes: Mailboxes, approval_id: str, approve: bool, by: str, note: str | None
) -> ApprovalRecord:
    """Record the decision and queue it; ApprovalNotFound, or ApprovalNotPending when
    someone decided first."""
    record = await mailboxes.approval(approval_id)
    if record is None:
        raise ApprovalNotFound(f"no approval {approval_id!r}")
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
    decided = replace(record, status=status, decided_by=by, note=note, decided_at=time.time())
    return await mailboxes.decide(decided, decision_message(decided))


def decision_message(record: ApprovalRecord) -> InboundMessage:
    tenant, channel, conversation_id = record.conversation_key.split(":", 2)
    decision = {
        "approved": record.status is ApprovalStatus.APPROVED,
        "by": record.decided_by,
        "note": record.note,
    }
    return InboundMessage(
        tenant=tenant,
        channel=channel,
        conversation_id=conversation_id,
        message_id=f"{record.id}:decision",
        text="",
        customer=Customer(record.customer_id),
        kind=APPROVAL_DECISION,
        data={"approval_id": record.id, "decision": decision},
    )
