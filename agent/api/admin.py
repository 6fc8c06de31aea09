"""/admin/v1: the operator's minimal surface so far — pending approvals and decisions."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from agent.api.auth import Principal, Role, audit, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, Approvals, Decided, error_responses, secured_by
from agent.approvals import ApprovalNotFound, decide
from agent.runtime.models import ApprovalRecord
from agent.runtime.stores import ApprovalNotPending

router = APIRouter(prefix="/admin/v1")


class Decision(BaseModel):
    decision: Literal["approve", "deny"]
    note: str | None = Field(default=None, max_length=2000)
    # Who decides, for the record (default: the token's name).
    operator: str | None = Field(default=None, min_length=1, max_length=200)


@router.get(
    "/approvals",
    summary="Pending approvals",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": Approvals}, **error_responses(401, 403, 503)},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def list_approvals(request: Request) -> dict[str, Any]:
    """Approvals waiting for a decision, oldest first (viewer role; a tenant-scoped token
    sees its tenant's only)."""
    principal = await require_role(request, Role.VIEWER)
    records = await components(request).runtime.mailboxes.pending_approvals()
    visible = [record for record in records if _visible(principal, record)]
    return {"approvals": [_public(record) for record in visible]}


@router.post(
    "/approvals/{approval_id}",
    summary="Approve or deny a paused action",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": Decided},
        **error_responses(400, 401, 403, 404, 409, 422, 503),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def decide_approval(approval_id: str, body: Decision, request: Request) -> dict[str, Any]:
    """Approve or deny a paused action (operator role); the conversation's worker resumes
    the turn. Audited as ``approval.decide``."""
    principal = await require_role(request, Role.OPERATOR)
    mailboxes = components(request).runtime.mailboxes
    pending = await mailboxes.approval(approval_id)
    if pending is None or not _visible(principal, pending):
        raise ApiError(404, f"no approval {approval_id!r}")
    by = body.operator or principal.name
    try:
        record = await decide(mailboxes, approval_id, body.decision == "approve", by, body.note)
    except ApprovalNotFound as error:
        raise ApiError(404, str(error)) from None
    except ApprovalNotPending as error:
        raise ApiError(409, f"{error}; nothing changed") from None
    detail = {
        "decision": body.decision,
        "decided_by": by,
        "note": body.note,
        "conversation": record.conversation_key,
    }
    await audit(request, principal, "approval.decide", approval_id, detail)
    return {"approval": _public(record), "queued": True}


def _visible(principal: Principal, record: ApprovalRecord) -> bool:
    return principal.can_see(record.conversation_key.split(":", 1)[0])


def _public(record: ApprovalRecord) -> dict[str, Any]:
    data = record.to_dict()
    data.pop("v", None)
    data.pop("checkpoint_id", None)
    return data
