"""Liveness, readiness and Prometheus metrics."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.api.deps import components
from agent.api.schemas import Health, Readiness
from agent.errors import DeskhandError
from agent.queue_depth import refresh_queue_depth
from knowledge.errors import KnowledgeError

router = APIRouter()


@router.get(
    "/healthz",
    summary="Liveness",
    tags=["operations"],
    response_model=None,
    responses={200: {"model": Health, "description": "The process is alive."}},
)
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    tags=["operations"],
    response_model=None,
    responses={
        200: {"model": Readiness, "description": "Ready (or degraded: no model answers)."},
        503: {"model": Readiness, "description": "Unready: a store or the knowledge base fails."},
    },
)
async def readyz(request: Request) -> JSONResponse:
    """Ready when the stores and the knowledge base work; a model outage only degrades."""
    parts = components(request)
    checks: dict[str, Any] = {}
    ready = True
    try:
        await parts.runtime.ping()
        checks["stores"] = "ok"
    except DeskhandError as error:
        checks["stores"] = str(error)
        ready = False
    try:
        await asyncio.to_thread(parts.knowledge.ping)  # a Chroma server call may block
        checks["knowledge"] = "ok" if request.app.state.embedder_ready else "loading model"
        ready = ready and bool(request.app.state.embedder_ready)
    except KnowledgeError as error:
        checks["knowledge"] = str(error)
        ready = False
    checks["model"] = _model_state(parts.llm)
    status = "degraded" if ready and checks["model"] != "ok" else ("ready" if ready else "unready")
    return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["operations"],
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        },
    },
)
async def metrics(request: Request) -> Response:
    """This process's counters and histograms (docs/metrics.md) and the queue depth, read
    with a short timeout (a slow store leaves the last value; the scrape still answers)."""
    await refresh_queue_depth(components(request).runtime.mailboxes)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _model_state(llm: Any) -> str:
    if llm is None:
        return "not configured (answers come from the knowledge base or go to a person)"
    if llm.circuit.state != "closed":
        return f"circuit {llm.circuit.state}"
    return "ok"
