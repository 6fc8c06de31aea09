"""/admin/v1/config and /admin/v1/health: the effective settings and bot files (secrets
redacted), bot file validation and reload, and the state of every dependency."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent.admin.config import bot_file, dependencies, effective_settings, validate_bot_yaml
from agent.api.auth import Principal, Role, audit, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by
from agent.errors import ConfigError

router = APIRouter(prefix="/admin/v1")
MEANINGS = {404: "Unknown tenant (or another tenant, for a tenant-scoped token)."}
MAX_BOT_FILE_BYTES = 256 * 1024


class ProblemOut(BaseModel):
    field: str = Field(
        description='The field\'s dotted path, e.g. "approvals.refund_threshold_eur".'
    )
    message: str


class Invalid(BaseModel):
    error: str = Field(description="Every problem, one per line: field: message.")
    problems: list[ProblemOut]


class Valid(BaseModel):
    valid: bool


class Reloaded(BaseModel):
    tenant: str
    reloaded: bool
    bot: dict[str, Any] = Field(description="The bot file now in use, secrets redacted.")
    restart_needed: list[str] = Field(
        description="Parts of the file that changed but stay as the processes started "
        "(``helpdesk``: its connection); restart deskhand to apply them."
    )


@router.get(
    "/config/settings",
    summary="Effective settings",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"description": "Every setting, secrets redacted."},
        **error_responses(401, 403, 503),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def get_settings(request: Request) -> dict[str, Any]:
    """The process's settings as it runs with them; secrets (tokens, keys, passwords in
    URLs) are shown as ``***``. Admin role, unscoped tokens only (they span tenants)."""
    principal = await require_role(request, Role.ADMIN)
    if principal.tenant is not None:
        raise ApiError(403, "the process settings span every tenant: use an unscoped token")
    parts = components(request)
    return {"settings": effective_settings(parts.settings), "tenants": parts.tenants.tenants}


@router.get(
    "/config/tenants/{tenant}",
    summary="A tenant's bot file",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"description": "The bot file in use, secrets redacted."},
        **error_responses(401, 403, 404, 422, 503, meanings=MEANINGS),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def get_bot(tenant: str, request: Request) -> dict[str, Any]:
    """The tenant's bot file as validated and in use (defaults filled in), secrets
    redacted. Admin role."""
    await _admin_of(request, tenant)
    parts = components(request)
    return {
        "tenant": tenant,
        "source": parts.tenants.source(tenant),
        "bot": bot_file(parts.tenants.get(tenant)),
    }


@router.post(
    "/config/tenants/{tenant}/validate",
    summary="Validate a bot file",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": Valid},
        422: {
            "model": Invalid,
            "description": "The bot file is invalid: each problem names its field.",
        },
        **error_responses(401, 403, 404, 413, 503, meanings=MEANINGS),
    },
    openapi_extra={
        **secured_by(ADMIN_TOKEN),
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        },
    },
)
async def validate_bot(tenant: str, request: Request) -> JSONResponse:
    """Check a bot file (the YAML as the body) before saving it: 200 ``{"valid": true}``,
    or 422 with every problem and the field it concerns. Nothing is saved or changed.
    Admin role."""
    await _admin_of(request, tenant)
    body = await request.body()
    if len(body) > MAX_BOT_FILE_BYTES:
        raise ApiError(413, f"a bot file is at most {MAX_BOT_FILE_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(422, "body: the bot file must be UTF-8 text") from None
    home = components(request).tenants.source_path(tenant)
    problems = validate_bot_yaml(text, tenant, home.parent if home else None)
    if not problems:
        return JSONResponse({"valid": True})
    listed = [{"field": p.field, "message": p.message} for p in problems]
    error = "\n".join(f"{p.field}: {p.message}" for p in problems)
    return JSONResponse({"error": error, "problems": listed}, status_code=422)


@router.post(
    "/config/tenants/{tenant}/reload",
    summary="Reload a bot file",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": Reloaded},
        422: {"model": Invalid, "description": "The file on disk is invalid; the old bot stays."},
        **error_responses(401, 403, 404, 422, 503, meanings=MEANINGS),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def reload_bot(tenant: str, request: Request) -> Any:
    """Read the tenant's bot file from disk again and use it for the next turns, without
    a restart, in every API and worker process (each reads it from its own disk within a
    few seconds), its tools file read again. The helpdesk connection stays as started: a
    file that changed it is used, and ``restart_needed`` names ``helpdesk``. An invalid
    file changes nothing: 422. Admin role; audited as ``config.reload``."""
    principal = await _admin_of(request, tenant)
    parts = components(request)
    registry = parts.tenants
    try:
        done = parts.reload_bot(tenant)
    except ConfigError as error:
        lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
        problems = [
            {"field": field, "message": message}
            for field, _, message in (line.partition(": ") for line in lines or [str(error)])
        ]
        await audit(request, principal, "config.reload", tenant, {"ok": False, "error": str(error)})
        return JSONResponse({"error": str(error), "problems": problems}, status_code=422)
    generation = await parts.runtime.bot_generations.bump(tenant)  # the other processes follow
    restart_needed = list(done.restart_needed)
    detail = {
        "ok": True,
        "source": registry.source(tenant),
        "generation": generation,
        "restart_needed": restart_needed,
    }
    await audit(request, principal, "config.reload", tenant, detail)
    return {
        "tenant": tenant,
        "reloaded": True,
        "bot": bot_file(done.bot),
        "restart_needed": restart_needed,
    }


@router.get(
    "/health",
    summary="Dependencies",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"description": "Each dependency: ok, detail; the model's circuit."},
        **error_responses(401, 403, 503),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def health(request: Request) -> dict[str, Any]:
    """The runtime stores, Redis (when used), Chroma and the embedding model, and the
    model endpoint with its circuit breaker (state, consecutive failures, retry in).
    Viewer role."""
    await require_role(request, Role.VIEWER)
    ready = bool(getattr(request.app.state, "embedder_ready", False))
    checks = await dependencies(components(request), ready)
    return {
        "ok": all(check["ok"] for name, check in checks.items() if name != "model"),
        "checks": checks,
    }


async def _admin_of(request: Request, tenant: str) -> Principal:
    principal = await require_role(request, Role.ADMIN)
    if not principal.can_see(tenant) or tenant not in components(request).tenants:
        raise ApiError(404, f"unknown tenant {tenant!r}")
    return principal
