"""/admin/v1/tokens: list, create (the secret is shown once) and revoke admin API tokens."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from agent.admin.tokens import TokenError, TokenNotFound, issue_token, revoke_token
from agent.api.admin_paging import Cursor, Limit
from agent.api.auth import Principal, Role, audit, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by
from agent.runtime.admin_records import AdminToken

router = APIRouter(prefix="/admin/v1")
MEANINGS = {
    403: "The token's role is below admin, or a tenant-scoped token asked for another tenant.",
    404: "No such token (or one of another tenant, for a tenant-scoped token).",
}


class TokenOut(BaseModel):
    id: str
    name: str
    role: Literal["viewer", "operator", "admin"]
    tenant: str | None = Field(description="The one tenant it may see; null: every tenant.")
    created_at: float = Field(description="Unix time.")
    created_by: str = Field(description="The name of the token (or the CLI) that created it.")
    revoked: bool
    revoked_at: float | None
    last_used_at: float | None = Field(description="Unix time, to the minute.")


class TokenPage(BaseModel):
    items: list[TokenOut] = Field(description="Tokens, oldest first, revoked ones too.")
    next_cursor: str | None


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="The bearer token. Shown this once; only a hash is kept.")


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="Who or what uses it.")
    role: Literal["viewer", "operator", "admin"]
    tenant: str | None = Field(
        default=None, min_length=1, max_length=200, description="Scope it to one tenant."
    )


@router.get(
    "/tokens",
    summary="Admin tokens",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": TokenPage}, **error_responses(401, 403, 422, 503)},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def list_tokens(request: Request, limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """Every token (never its secret), oldest first; admin role."""
    principal = await require_role(request, Role.ADMIN)
    tokens = [
        token
        for token in await components(request).runtime.admin_tokens.all()
        if _visible(principal, token)
    ]
    start = _start(tokens, cursor)
    page = tokens[start : start + limit]
    more = start + limit < len(tokens)
    return {
        "items": [token.public() for token in page],
        "next_cursor": page[-1].id if more and page else None,
    }


@router.post(
    "/tokens",
    summary="Create an admin token",
    tags=["admin"],
    status_code=201,
    response_model=None,
    responses={
        201: {"model": TokenCreated},
        **error_responses(400, 401, 403, 422, 503, meanings=MEANINGS),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def create_token(body: TokenRequest, request: Request) -> dict[str, Any]:
    """A new token; its secret is in this answer only. Admin role; audited as
    ``token.create``. A tenant-scoped token creates tokens for its own tenant only."""
    principal = await require_role(request, Role.ADMIN)
    tenant = body.tenant
    if principal.tenant is not None and tenant != principal.tenant:
        raise ApiError(403, f"a token scoped to {principal.tenant!r} creates tokens for it only")
    if tenant is not None and tenant not in components(request).tenants:
        raise ApiError(422, f"tenant: unknown tenant {tenant!r}")
    store = components(request).runtime.admin_tokens
    try:
        issued = await issue_token(store, body.name, Role.parse(body.role), principal.name, tenant)
    except TokenError as error:
        raise ApiError(422, f"name: {error}") from None
    detail = {"name": issued.token.name, "role": issued.token.role, "tenant": tenant}
    await audit(request, principal, "token.create", issued.token.id, detail)
    return {"token": issued.token.public(), "secret": issued.secret}


@router.delete(
    "/tokens/{token_id}",
    summary="Revoke an admin token",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": TokenOut},
        **error_responses(401, 403, 404, 422, 503, meanings=MEANINGS),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def delete_token(token_id: str, request: Request) -> dict[str, Any]:
    """Revoke a token: from now on it gets 401. Revoking twice keeps the first time.
    Admin role; audited as ``token.revoke``."""
    principal = await require_role(request, Role.ADMIN)
    store = components(request).runtime.admin_tokens
    found = await store.get(token_id)
    if found is None or not _visible(principal, found):
        raise ApiError(404, f"no admin token {token_id!r}")
    try:
        token = await revoke_token(store, token_id)
    except TokenNotFound as error:
        raise ApiError(404, str(error)) from None
    await audit(request, principal, "token.revoke", token_id, {"name": token.name})
    return token.public()


def _visible(principal: Principal, token: AdminToken) -> bool:
    return principal.tenant is None or token.tenant == principal.tenant


def _start(tokens: list[AdminToken], cursor: str | None) -> int:
    if cursor is None:
        return 0
    for index, token in enumerate(tokens):
        if token.id == cursor:
            return index + 1
    raise ApiError(422, f"cursor: {cursor!r} is not one this listing handed out")
