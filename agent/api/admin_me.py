"""GET /admin/v1/me: who the bearer token stands for (the console's login checks it)."""

from typing import Any

from fastapi import APIRouter, Request

from agent.api.auth import Role, require_role
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by

router = APIRouter(prefix="/admin/v1")


@router.get(
    "/me",
    summary="The caller",
    tags=["admin"],
    response_model=None,
    responses=error_responses(401, 503),
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def me(request: Request) -> dict[str, Any]:
    """The token's name, role and tenant scope (null: every tenant)."""
    principal = await require_role(request, Role.VIEWER)
    return {"name": principal.name, "role": principal.role.label, "tenant": principal.tenant}
