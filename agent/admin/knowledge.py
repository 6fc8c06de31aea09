"""The knowledge base, administered: sources, uploads and imports ingested as background
jobs with progress, source deletion, re-embedding, and the agent's retrieval for a question.

Jobs run in one worker thread (embedding is CPU-bound and the store syncs one at a time),
so the event loop keeps serving. They live in this process's memory: a job is visible on
the replica that accepted it, and forgotten on restart (its effect on the store is not).
"""

import base64
import binascii
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from agent.errors import DeskhandError
from knowledge.ingest import ingest_path
from knowledge.retriever import Retriever
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Work = Callable[[Progress], dict[str, Any]]
KEPT_JOBS = 200
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
URL_TIMEOUT_S = 30.0
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]")
UPLOADS = "kb-uploads"
IMPORTS = "kb-imports"


class KnowledgeAdminError(DeskhandError):
    """A knowledge-base request that cannot be done as asked; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Job:
    id: str
    tenant: str
    kind: str  # "ingest" or "reindex"
    target: str  # what it works on: a file name, a path, a URL, or the tenant
    state: str = "queued"  # queued, running, succeeded, failed
    done: int = 0  # chunks embedded so far
    total: int = 0  # chunks to embed (known once the job has planned its work)
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["progress"] = round(self.done / self.total, 4) if self.total else None
        return data


class KnowledgeJobs:
    """Background knowledge jobs of this process, newest kept (``KEPT_JOBS``)."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge-job")

    def submit(self, tenant: str, kind: str, target: str, work: Work) -> Job:
        job = Job(f"job_{secrets.token_hex(8)}", tenant, kind, target, created_at=time.time())
        self._put(job)
        self._pool.submit(self._run, job.id, work)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created_at, reverse=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, work: Work) -> None:
        self._update(job_id, state="running", started_at=time.time())

        def progress(done: int, total: int) -> None:
            self._update(job_id, done=done, total=total)

        try:
            result = work(progress)
        except Exception as error:  # the job fails, the worker thread lives on
            message = str(error) if isinstance(error, DeskhandError) else type(error).__name__
            if not isinstance(error, DeskhandError):
                log.exception("knowledge job %s failed", job_id)
            self._update(job_id, state="failed", error=message, finished_at=time.time())
            return
        self._update(job_id, state="succeeded", result=result, finished_at=time.time())

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._jobs[job_id] = replace(job, **changes)

    def _put(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            for stale in sorted(self._jobs.values(), key=lambda j: j.created_at)[:-KEPT_JOBS]:
                if stale.state in ("succeeded", "failed"):
                    del self._jobs[stale.id]


def overview(store: KnowledgeStore, tenant: str) -> dict[str, Any]:
    """The tenant's documents with their chunk counts, and when the base last changed."""
    sources = store.sources(tenant)
    return {
        "tenant": tenant,
        "documents": len(sources),
        "chunks": sum(source.chunks for source in sources),
        "last_synced_at": store.last_synced(tenant),
        "sources": [asdict(source) for source in sources],
    }


def ingest_work(store: KnowledgeStore, tenant: str, path: Path) -> Work:
    """A job's work: sync the file or folder into the tenant's collection."""

    def work(progress: Progress) -> dict[str, Any]:
        report = ingest_path(store, tenant, path, progress=progress)
        summary = report.summary
        return {
            "added": summary.added,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "removed": summary.removed,
            "failures": [{"source": s, "reason": r} for s, r in report.all_failures],
        }

    return work


def reindex_work(store: KnowledgeStore, tenant: str) -> Work:
    def work(progress: Progress) -> dict[str, Any]:
        return {"chunks": store.reembed(tenant, progress)}

    return work


def decode_upload(filename: str, content: str | None, content_base64: str | None) -> bytes:
    """An uploaded document's bytes: ``content`` (text) or ``content_base64`` (any file)."""
    if (content is None) == (content_base64 is None):
        raise KnowledgeAdminError("content", "give exactly one of content and content_base64")
    if content is not None:
        data = content.encode()
    else:
        try:
            data = base64.b64decode(content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise KnowledgeAdminError("content_base64", "not valid base64") from None
    if not data:
        raise KnowledgeAdminError("content", "the document is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise KnowledgeAdminError("content", f"larger than {MAX_UPLOAD_BYTES} bytes")
    return data


def save_upload(data_dir: Path, tenant: str, filename: str, data: bytes) -> Path:
    """Keep an uploaded document under <data dir>/kb-uploads/<tenant>/ (its name is its
    source: uploading the same name again updates that document)."""
    name = safe_name(filename)
    folder = data_dir / UPLOADS / tenant
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def safe_name(filename: str) -> str:
    name = _SAFE_NAME.sub("_", Path(filename.replace("\\", "/")).name).strip(" .")
    if not name or "." not in name:
        raise KnowledgeAdminError("filename", "needs a name with an extension (.md, .txt...)")
    return name


def import_roots(data_dir: Path, configured: str) -> list[Path]:
    roots = [data_dir / IMPORTS, *(Path(p.strip()) for p in configured.split(",") if p.strip())]
    return [root.resolve() for root in roots]


def allowed_path(path: str, roots: Sequence[Path]) -> Path:
    """``path`` resolved, if it lies inside one of ``roots`` and exists."""
    resolved = Path(path).resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        where = ", ".join(str(root) for root in roots)
        raise KnowledgeAdminError("path", f"only paths inside {where} may be ingested")
    if not resolved.exists():
        raise KnowledgeAdminError("path", f"{path} does not exist")
    return resolved


async def download(
    http: httpx.AsyncClient, url: str, data_dir: Path, tenant: str
) -> tuple[Path, str]:
    """Fetch a document (http/https, at most MAX_UPLOAD_BYTES, with a timeout) into the
    tenant's uploads; its path and its source name."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise KnowledgeAdminError("url", "must be an http:// or https:// URL")
    name = safe_name(Path(parsed.path).name or "index.html")
    try:
        async with http.stream("GET", url, timeout=URL_TIMEOUT_S) as response:
            if response.status_code != 200:
                raise KnowledgeAdminError("url", f"the server answered {response.status_code}")
            data = bytearray()
            async for part in response.aiter_bytes():
                data += part
                if len(data) > MAX_UPLOAD_BYTES:
                    raise KnowledgeAdminError("url", f"larger than {MAX_UPLOAD_BYTES} bytes")
    except httpx.HTTPError as error:
        raise KnowledgeAdminError("url", f"cannot fetch it: {type(error).__name__}") from None
    return save_upload(data_dir, tenant, name, bytes(data)), name


def debug_search(retriever: Retriever, tenant: str, question: str, k: int) -> dict[str, Any]:
    """What the agent would retrieve for ``question`` (no conversation history)."""
    result = retriever.search(tenant, question, k)
    return {
        "confidence": round(result.confidence, 4),
        "passages": [
            {
                "source": p.source,
                "title": p.title,
                "heading": p.heading,
                "url": p.url,
                "score": round(p.score, 4),
                "chunk_id": p.chunk_id,
                "locale": p.locale,
                "text": p.text,
            }
            for p in result.passages
        ],
    }
