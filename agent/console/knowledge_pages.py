"""The knowledge base page: sources, upload, reindex, delete, and a debug search."""

import base64
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from agent.api.deps import components
from agent.console.bridge import AdminApi, ConsoleApiError
from agent.console.plumbing import act, form_field, show
from agent.console.render import page

router = APIRouter()
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.get("/knowledge")
async def knowledge_page(request: Request) -> Response:
    question = request.query_params.get("q", "").strip()

    async def render(api: AdminApi, context: dict[str, Any]) -> Response:
        tenant = _tenant(request, context["me"])
        base = "/admin/v1/knowledge"
        sources = await api.get(f"{base}/{quote(tenant)}/sources", {"limit": 200})
        jobs = await api.get(f"{base}/jobs")
        found = (
            await api.get(f"{base}/search", {"tenant": tenant, "q": question}) if question else None
        )
        return page(
            request,
            "knowledge.html",
            context["session"],
            me=context["me"],
            section=context["section"],
            tenant=tenant,
            tenants=_tenants(request, context["me"]),
            sources=sources,
            jobs=jobs.get("items", []),
            question=question,
            found=found,
        )

    return await show(request, render, "knowledge")


@router.post("/knowledge/{tenant}/{action}")
async def knowledge_action(tenant: str, action: str, request: Request) -> Response:
    async def call(api: AdminApi, form: FormData) -> str:
        base = f"/admin/v1/knowledge/{quote(tenant)}"
        if action == "upload":
            await api.post(f"{base}/documents", await _upload_body(form))
            return "Upload received: it is being ingested (see the jobs below)."
        if action == "reindex":
            await api.post(f"{base}/reindex")
            return "Reindex started."
        if action == "delete":
            source = form_field(form, "source") or ""
            await api.delete(f"{base}/sources/{quote(source, safe='')}")
            return f"Deleted {source}."
        raise ConsoleApiError(404, f"no knowledge action {action!r}")

    return await act(request, f"/admin/knowledge?tenant={quote(tenant)}", call)


async def _upload_body(form: FormData) -> dict[str, Any]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ConsoleApiError(422, "file: choose a document to upload")
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ConsoleApiError(413, f"file: larger than {MAX_UPLOAD_BYTES} bytes")
    return {"filename": upload.filename, "content_base64": base64.b64encode(data).decode()}


def _tenants(request: Request, me: dict[str, Any]) -> list[str]:
    if me.get("tenant"):
        return [str(me["tenant"])]
    return list(components(request).tenants.tenants)


def _tenant(request: Request, me: dict[str, Any]) -> str:
    visible = _tenants(request, me)
    asked = request.query_params.get("tenant", "")
    if asked in visible:
        return asked
    return visible[0] if visible else asked
