"""Liveness, readiness and Prometheus metrics."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.api.deps import components
from agent.errors import DeskhandError
from agent.metrics import QUEUE_DEPTH
from knowledge.errors import KnowledgeError

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
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


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    QUEUE_DEPTH.set(await components(request).runtime.mailboxes.depth())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _model_state(llm: Any) -> str:
    if llm is None:
        return "not configured (answers come from the knowledge base or go to a person)"
    if llm.circuit.state != "closed":
        return f"circuit {llm.circuit.state}"
    return "ok"
