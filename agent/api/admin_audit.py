"""GET /admin/v1/audit: the audit log, newest first. No route edits or deletes an entry."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from agent.api.admin_paging import Cursor, Limit, Moment, epoch_seconds
from agent.api.auth import Role, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by
from agent.runtime.admin_records import AuditEntry, AuditFilter
from agent.runtime.admin_stores import InvalidCursor

router = APIRouter(prefix="/admin/v1")
Text = Annotated[str | None, Query(min_length=1, max_length=500)]


class AuditOut(BaseModel):
    id: str = Field(description="The entry's position in the log.")
    at: float = Field(description="Unix time.")
    actor: str = Field(description="The token's name.")
    actor_id: str = Field(description='The token\'s id ("env": DESKHAND_ADMIN_TOKEN).')
    action: str = Field(description='What was done, e.g. "approval.decide", "token.revoke".')
    target: str = Field(description="What it was done to (an id, a tenant, a source).")
    detail: dict[str, Any]
    request_id: str | None = Field(description="The request's X-Request-ID header, if any.")
    ip: str | None = Field(description="The caller's address.")


class AuditPageOut(BaseModel):
    items: list[AuditOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for older entries; a page may be short and still have one."
    )


@router.get(
    "/audit",
    summary="The audit log",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": AuditPageOut},
        **error_responses(
            401,
            403,
            422,
            503,
            meanings={403: "Not an admin token, or one scoped to a tenant (the log spans all)."},
        ),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def list_audit(
    request: Request,
    actor: Text = None,
    action: Text = None,
    target: Text = None,
    since: Moment = None,
    until: Moment = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every mutating admin call (who, what, on what, when), newest first, filtered by the
    token's name or id (``actor``), ``action``, ``target`` and a time window
    (``since`` inclusive, ``until`` exclusive). Unscoped admin tokens only."""
    principal = await require_role(request, Role.ADMIN)
    if principal.tenant is not None:
        raise ApiError(403, "the audit log spans every tenant: it needs an unscoped admin token")
    where = AuditFilter(actor, action, target, epoch_seconds(since), epoch_seconds(until))
    try:
        page = await components(request).runtime.audit.page(where, limit, cursor)
    except InvalidCursor as error:
        raise ApiError(422, f"cursor: {error}") from None
    return {"items": [_public(entry) for entry in page.items], "next_cursor": page.next_cursor}


def _public(entry: AuditEntry) -> dict[str, Any]:
    data = entry.to_dict()
    data.pop("v", None)
    return data
