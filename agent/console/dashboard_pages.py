"""The dashboard: the stats of a time window (turns, automation, escalations, latency)."""

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from agent.console.bridge import AdminApi
from agent.console.plumbing import show
from agent.console.render import page

router = APIRouter()
WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400, "30d": 30 * 86_400}


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    window = request.query_params.get("window", "24h")
    if window not in WINDOWS:
        window = "24h"
    tenant = request.query_params.get("tenant", "")

    async def render(api: AdminApi, context: dict[str, Any]) -> Response:
        since = time.time() - WINDOWS[window]
        stats = await api.get("/admin/v1/stats", {"since": int(since), "tenant": tenant})
        health = await api.get("/admin/v1/health")
        return page(
            request,
            "dashboard.html",
            context["session"],
            me=context["me"],
            section=context["section"],
            stats=stats,
            health=health,
            window=window,
            windows=list(WINDOWS),
            tenant=tenant,
        )

    return await show(request, render, "dashboard")
