"""GET /admin/v1/stats: turns, automation rate, escalations, latency, tokens, tool calls and
webhook rejections over a time window (agent.admin.stats; Prometheus: /metrics)."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from agent.admin.stats import Window, summary
from agent.api.admin_paging import Moment, epoch_seconds
from agent.api.auth import Principal, Role, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by

router = APIRouter(prefix="/admin/v1")
DEFAULT_WINDOW_S = 86_400.0
TenantName = Annotated[str | None, Query(min_length=1, max_length=200)]


class LatencyBucket(BaseModel):
    le: float | None = Field(description="Upper bound in seconds; null: the open last bucket.")
    count: int


class Latency(BaseModel):
    count: int = Field(description="Turns timed (resumed turns are not).")
    mean: float | None
    p50: float | None = Field(description="Seconds, interpolated inside the histogram buckets.")
    p90: float | None
    p99: float | None
    buckets: list[LatencyBucket]


class Stats(BaseModel):
    since: float = Field(description="Unix time, the window's start (rounded to its minute).")
    until: float = Field(description="Unix time, the window's end (exclusive).")
    tenant: str | None = Field(description="null: every tenant.")
    turns: int = Field(description="Turns the bot ran (answered, handed off or paused).")
    automated_turns: int = Field(description="Turns answered without escalation or approval.")
    automation_rate: float | None = Field(description="automated_turns / turns; null: no turns.")
    escalations: dict[str, Any] = Field(description='{"total": n, "by_reason": {reason: n}}')
    latency_s: Latency
    tokens: dict[str, int] = Field(description="prompt, completion, total.")
    tool_calls: dict[str, Any] = Field(
        description='{"total", "failures", "by_tool": {tool: {"calls", "failures"}}}'
    )
    webhook_rejections: dict[str, Any] = Field(
        description='{"total": n, "by_cause": {cause: n}}; causes: bad_request, '
        "bad_signature, not_found, too_large, invalid, unavailable, error"
    )


@router.get(
    "/stats",
    summary="Stats of a time window",
    tags=["admin"],
    response_model=None,
    responses={
        200: {"model": Stats},
        **error_responses(
            401,
            403,
            404,
            422,
            503,
            meanings={
                403: "The token is scoped to another tenant.",
                404: "Unknown tenant.",
            },
        ),
    },
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def stats(
    request: Request, since: Moment = None, until: Moment = None, tenant: TenantName = None
) -> dict[str, Any]:
    """Counts summed over [``since``, ``until``) at minute resolution (default: the last 24
    hours), of one ``tenant`` or all; a tenant-scoped token sees its own tenant. Viewer
    role. Latency percentiles are interpolated from fixed histogram buckets."""
    principal = await require_role(request, Role.VIEWER)
    tenant = _tenant(request, principal, tenant)
    asked_end, asked_start = epoch_seconds(until), epoch_seconds(since)
    end = time.time() if asked_end is None else asked_end
    start = end - DEFAULT_WINDOW_S if asked_start is None else asked_start
    if start >= end:
        raise ApiError(422, "since: must be before until")
    window = Window(start, end, tenant)
    answer = await summary(components(request).runtime.stats, window)
    return {"since": start - start % 60, "until": end, "tenant": tenant, **answer}


def _tenant(request: Request, principal: Principal, asked: str | None) -> str | None:
    if asked is None:
        return principal.tenant
    if not principal.can_see(asked):
        raise ApiError(403, f"this token sees the tenant {principal.tenant!r} only")
    if asked not in components(request).tenants:
        raise ApiError(404, f"unknown tenant {asked!r}")
    return asked
