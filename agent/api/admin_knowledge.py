"""/admin/v1/knowledge: the knowledge base's sources, ingestion jobs, deletion, reindexing,
and a debug search showing what the agent would retrieve. Viewer reads, admin writes; a
tenant-scoped token sees its own tenant only (404 for others)."""

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, model_validator

from agent.admin.knowledge import (
    KEPT_DAYS,
    KnowledgeAdminError,
    KnowledgeJobs,
    allowed_path,
    debug_search,
    decode_upload,
    download,
    import_roots,
    ingest_work,
    overview,
    reindex_work,
    save_upload,
)
from agent.api.admin_paging import Cursor, Limit
from agent.api.auth import Principal, Role, audit, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by
from agent.runtime.admin_stores import InvalidCursor
from agent.runtime.knowledge_jobs import KnowledgeJob

router = APIRouter(prefix="/admin/v1/knowledge")
MEANINGS = {
    404: "Unknown tenant, source or job (or another tenant's, for a scoped token).",
    415: "The upload is neither application/json nor multipart/form-data.",
}
READ = error_responses(401, 403, 404, 422, 503, meanings=MEANINGS)
WRITE = error_responses(400, 401, 403, 404, 415, 422, 503, meanings=MEANINGS)


class Upload(BaseModel):
    """A document sent in the body (JSON; or multipart/form-data with a ``file`` field)."""

    filename: str = Field(min_length=1, max_length=255, description="Its name is its source.")
    content: str | None = Field(default=None, description="The text (Markdown, HTML, text).")
    content_base64: str | None = Field(default=None, description="Any file, base64 (PDF...).")


class Pointer(BaseModel):
    """A file or folder on the server (inside an allowed folder), or a URL to fetch."""

    path: str | None = Field(default=None, min_length=1, max_length=4096)
    url: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _one(self) -> "Pointer":
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of path and url")
        return self


class JobOut(BaseModel):
    id: str
    tenant: str
    kind: str = Field(description='"ingest" or "reindex".')
    target: str
    state: str = Field(description="queued, running, succeeded or failed.")
    done: int = Field(description="Chunks embedded so far.")
    total: int = Field(description="Chunks to embed (0 until planned, or nothing to embed).")
    progress: float | None = Field(description="done / total, when total is known.")
    created_at: float
    started_at: float | None
    finished_at: float | None
    result: dict[str, Any] | None = Field(description="What the job did, once it succeeded.")
    error: str | None
    owner: str = Field(description="The process (host:pid:id) that runs or ran it.")
    beat_at: float | None = Field(description="Its process's latest sign of life.")


class JobAccepted(BaseModel):
    job: JobOut


class JobPage(BaseModel):
    items: list[JobOut] = Field(description="Newest first.")
    next_cursor: str | None


class SourceOut(BaseModel):
    source: str
    title: str
    url: str | None
    chunks: int
    indexed_at: float | None = Field(description="When its chunks were last written.")


class Sources(BaseModel):
    tenant: str
    documents: int
    chunks: int
    last_synced_at: float | None = Field(description="When the base last changed.")
    items: list[SourceOut]
    next_cursor: str | None


class Removed(BaseModel):
    source: str
    chunks_removed: int


class PassageOut(BaseModel):
    source: str
    title: str
    heading: str
    url: str | None
    score: float
    chunk_id: str
    locale: str
    text: str


class SearchOut(BaseModel):
    tenant: str
    query: str
    k: int
    min_score: float = Field(description="The confidence the bot needs to quote a passage.")
    confidence: float
    passages: list[PassageOut]


def knowledge_jobs(request: Request) -> KnowledgeJobs:
    """This process's job runner over the runtime's job store (made on first use)."""
    state = request.app.state
    jobs: KnowledgeJobs | None = getattr(state, "knowledge_jobs", None)
    if jobs is None:
        jobs = state.knowledge_jobs = KnowledgeJobs(components(request).runtime.knowledge_jobs)
    return jobs


async def close_knowledge_jobs(app: FastAPI) -> None:
    """At shutdown: stop this process's job runner, if it was made."""
    jobs: KnowledgeJobs | None = getattr(app.state, "knowledge_jobs", None)
    if jobs is not None:
        await jobs.aclose()


@router.get(
    "/{tenant}/sources",
    summary="Knowledge sources",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": Sources}, **READ},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def list_sources(
    tenant: str, request: Request, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The tenant's documents with their chunk counts and when each was indexed, and
    when the knowledge base last changed. Viewer role."""
    await _reader(request, tenant)
    found = await asyncio.to_thread(overview, components(request).knowledge, tenant)
    sources: list[dict[str, Any]] = found.pop("sources")
    start = 0
    if cursor is not None:
        names = [source["source"] for source in sources]
        if cursor not in names:
            raise ApiError(422, f"cursor: {cursor!r} is not one this listing handed out")
        start = names.index(cursor) + 1
    page = sources[start : start + limit]
    more = start + limit < len(sources)
    return {**found, "items": page, "next_cursor": page[-1]["source"] if more else None}


@router.post(
    "/{tenant}/documents",
    summary="Upload a document",
    tags=["admin"],
    status_code=202,
    response_model=None,
    responses={202: {"model": JobAccepted}, **WRITE},
    openapi_extra={
        **secured_by(ADMIN_TOKEN),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": Upload.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        },
    },
)
async def upload_document(tenant: str, request: Request) -> JSONResponse:
    """Store the document and ingest it in the background: 202 with the job to poll.
    Admin role; audited as ``knowledge.upload``."""
    principal = await _writer(request, tenant)
    filename, data = await _uploaded(request)
    try:
        path = save_upload(components(request).settings.data_dir, tenant, filename, data)
    except KnowledgeAdminError as error:
        raise ApiError(422, str(error)) from None
    job = await _start_ingest(request, tenant, path.name, path)
    detail = {"filename": path.name, "bytes": len(data), "job": job.id}
    await audit(request, principal, "knowledge.upload", f"{tenant}:{path.name}", detail)
    return JSONResponse({"job": job.public()}, status_code=202)


@router.post(
    "/{tenant}/ingest",
    summary="Ingest a path or URL",
    tags=["admin"],
    status_code=202,
    response_model=None,
    responses={202: {"model": JobAccepted}, **WRITE},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def ingest(tenant: str, body: Pointer, request: Request) -> JSONResponse:
    """Ingest a file or folder on the server (inside DESKHAND_KB_IMPORT_DIRS or
    <data dir>/kb-imports), or fetch a URL, in the background: 202 with the job.
    Admin role; audited as ``knowledge.ingest``."""
    principal = await _writer(request, tenant)
    parts = components(request)
    try:
        if body.path is not None:
            roots = import_roots(parts.settings.data_dir, parts.settings.kb_import_dirs)
            path = allowed_path(body.path, roots)
            target = str(path)
        else:
            path, target = await download(
                parts.http, str(body.url), parts.settings.data_dir, tenant
            )
    except KnowledgeAdminError as error:
        raise ApiError(422, str(error)) from None
    job = await _start_ingest(request, tenant, target, path)
    detail = {"path": body.path, "url": body.url, "job": job.id}
    await audit(request, principal, "knowledge.ingest", f"{tenant}:{target}", detail)
    return JSONResponse({"job": job.public()}, status_code=202)


@router.post(
    "/{tenant}/reindex",
    summary="Re-embed the knowledge base",
    tags=["admin"],
    status_code=202,
    response_model=None,
    responses={202: {"model": JobAccepted}, **WRITE},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def reindex(tenant: str, request: Request) -> JSONResponse:
    """Embed every stored chunk again and rewrite its vector, in the background: 202 with
    the job. Admin role; audited as ``knowledge.reindex``."""
    principal = await _writer(request, tenant)
    store = components(request).knowledge
    work = reindex_work(store, tenant)
    job = await knowledge_jobs(request).submit(tenant, "reindex", tenant, work)
    await audit(request, principal, "knowledge.reindex", tenant, {"job": job.id})
    return JSONResponse({"job": job.public()}, status_code=202)


@router.delete(
    "/{tenant}/sources/{source:path}",
    summary="Delete a source",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": Removed}, **WRITE},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def delete_source(tenant: str, source: str, request: Request) -> dict[str, Any]:
    """Remove a document's chunks from the knowledge base. Admin role; audited as
    ``knowledge.delete``."""
    principal = await _writer(request, tenant)
    store = components(request).knowledge
    removed = await asyncio.to_thread(store.delete_source, tenant, source)
    if removed == 0:
        raise ApiError(404, f"no source {source!r} in the knowledge base of {tenant!r}")
    await audit(request, principal, "knowledge.delete", f"{tenant}:{source}", {"chunks": removed})
    return {"source": source, "chunks_removed": removed}


@router.get(
    "/jobs",
    summary="Knowledge jobs",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": JobPage}, **READ},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def list_jobs(request: Request, limit: Limit = 50, cursor: Cursor = None) -> dict[str, Any]:
    """Recent ingestion and reindexing jobs of every replica, newest first (a
    tenant-scoped token sees its tenant's). Viewer role."""
    principal = await require_role(request, Role.VIEWER)
    try:
        page = await knowledge_jobs(request).page(principal.tenant, limit, cursor)
    except InvalidCursor:
        raise ApiError(422, f"cursor: {cursor!r} is not one this listing handed out") from None
    return {"items": [job.public() for job in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/jobs/{job_id}",
    summary="A knowledge job",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": JobOut}, **READ},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def get_job(job_id: str, request: Request) -> dict[str, Any]:
    """A job's state and progress (chunks embedded of those to embed). Viewer role."""
    principal = await require_role(request, Role.VIEWER)
    job = await knowledge_jobs(request).get(job_id)
    if job is None or not principal.can_see(job.tenant):
        raise ApiError(
            404, f"no knowledge job {job_id!r} (finished jobs are kept {KEPT_DAYS} days)"
        )
    return job.public()


@router.get(
    "/search",
    summary="Debug search",
    tags=["admin"],
    response_model=None,
    responses={200: {"model": SearchOut}, **READ},
    openapi_extra=secured_by(ADMIN_TOKEN),
)
async def search(
    request: Request,
    tenant: Annotated[str, Query(min_length=1, max_length=200)],
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question.")],
    k: Annotated[int | None, Query(ge=1, le=20, description="Default: the bot's top_k.")] = None,
) -> dict[str, Any]:
    """The passages the agent would retrieve for a question (no conversation history),
    with scores and sources, and the retrieval confidence. Viewer role."""
    await _reader(request, tenant)
    parts = components(request)
    retrieval = parts.tenants.get(tenant).retrieval
    count = k or retrieval.top_k
    found = await asyncio.to_thread(debug_search, parts.retriever, tenant, q, count)
    return {"tenant": tenant, "query": q, "k": count, "min_score": retrieval.min_score, **found}


async def _reader(request: Request, tenant: str) -> Principal:
    return _for_tenant(await require_role(request, Role.VIEWER), request, tenant)


async def _writer(request: Request, tenant: str) -> Principal:
    return _for_tenant(await require_role(request, Role.ADMIN), request, tenant)


def _for_tenant(principal: Principal, request: Request, tenant: str) -> Principal:
    if not principal.can_see(tenant) or tenant not in components(request).tenants:
        raise ApiError(404, f"unknown tenant {tenant!r}")
    return principal


async def _start_ingest(request: Request, tenant: str, target: str, path: Any) -> KnowledgeJob:
    work = ingest_work(components(request).knowledge, tenant, path)
    return await knowledge_jobs(request).submit(tenant, "ingest", target, work)


async def _uploaded(request: Request) -> tuple[str, bytes]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _multipart(request)
    if kind != "application/json":
        raise ApiError(415, "send application/json ({filename, content}) or multipart/form-data")
    try:
        upload = Upload.model_validate(json.loads(await request.body()))
    except json.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON") from None
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        ]
        raise ApiError(422, "; ".join(problems)) from None
    try:
        return upload.filename, decode_upload(
            upload.filename, upload.content, upload.content_base64
        )
    except KnowledgeAdminError as error:
        raise ApiError(422, str(error)) from None


async def _multipart(request: Request) -> tuple[str, bytes]:
    try:
        form = await request.form()
    except AssertionError:  # Starlette without python-multipart
        raise ApiError(415, "multipart needs python-multipart here: send JSON instead") from None
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        raise ApiError(422, "file: a file field is required")
    data = await upload.read()
    if not data:
        raise ApiError(422, "file: the document is empty")
    return upload.filename, data
