"""The knowledge base, administered: sources, uploads and imports ingested as background
jobs with progress, source deletion, re-embedding, and the agent's retrieval for a question.

Jobs run in one worker thread of the process that accepted them (embedding is CPU-bound
and the store syncs one at a time), so the event loop keeps serving. Every state change
and progress step (at most a few a second) is written to the runtime's job store, so any
replica can show it and a restart keeps it; while a job is queued or running its process
renews the job's ``beat_at``. A reader that finds an unfinished job silent for
``STALE_AFTER_S`` declares it failed ("interrupted: ...") in the store: its process
stopped, and no job stays running forever.
"""

import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from agent.errors import DeskhandError
from agent.runtime.knowledge_jobs import (
    RETENTION_S,
    JobPage,
    KnowledgeJob,
    KnowledgeJobStore,
)
from knowledge.ingest import ingest_path
from knowledge.retriever import Retriever
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Work = Callable[[Progress], dict[str, Any]]
BEAT_S = 5.0  # how often a process renews the beat of its unfinished jobs
STALE_AFTER_S = 60.0  # an unfinished job silent this long: its process stopped
WRITE_EVERY_S = 0.5  # progress is written at most this often (state changes at once)
WRITE_TIMEOUT_S = 10.0
FINAL_ATTEMPTS = 4  # a job's final state: tried this many times, pauses doubling
FIRST_PAUSE_S = 0.5
KEPT_DAYS = RETENTION_S // 86_400
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


def process_owner() -> str:
    """A name for this process's job runner: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class KnowledgeJobs:
    """Runs knowledge jobs in this process and reads everyone's from the job store.

    Made (and its methods called) on the event loop; the worker thread reaches the store
    through that loop and waits for its writes, so the loop never waits for the thread.
    """

    def __init__(
        self,
        store: KnowledgeJobStore,
        owner: str | None = None,
        *,
        beat_s: float = BEAT_S,
        stale_after_s: float = STALE_AFTER_S,
        write_every_s: float = WRITE_EVERY_S,
    ) -> None:
        self.owner = owner or process_owner()
        self._store = store
        self._beat_s = beat_s
        self._stale_after_s = stale_after_s
        self._write_every_s = write_every_s
        self._live: dict[str, KnowledgeJob] = {}  # this process's unfinished jobs
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge-job")
        self._beating: asyncio.Task[None] | None = None

    async def submit(self, tenant: str, kind: str, target: str, work: Work) -> KnowledgeJob:
        """Record the job (visible everywhere at once), then queue it for the worker."""
        now = time.time()
        job_id = f"job_{secrets.token_hex(8)}"
        job = KnowledgeJob(
            job_id, tenant, kind, target, created_at=now, owner=self.owner, beat_at=now
        )
        await self._store.create(job)
        with self._lock:
            self._live[job.id] = job
        loop = asyncio.get_running_loop()
        recorder = _Recorder(self._store, job, loop, self._write_every_s, self._remember)
        self._pool.submit(recorder.run, work)
        if self._beating is None or self._beating.done():
            self._beating = asyncio.create_task(self._beat_while_busy())
        return job

    async def get(self, job_id: str) -> KnowledgeJob | None:
        job = await self._store.get(job_id)
        return None if job is None else await self._checked(job)

    async def page(self, tenant: str | None, limit: int, cursor: str | None) -> JobPage:
        """Jobs newest first (``tenant``'s, or everyone's); InvalidCursor for a bad cursor."""
        found = await self._store.page(tenant, limit, cursor)
        return JobPage([await self._checked(job) for job in found.items], found.next_cursor)

    async def aclose(self) -> None:
        """Stop beating and drop the queue; jobs that never started are recorded as
        interrupted now, a running one when its beat has gone stale."""
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            queued = [job for job in self._live.values() if job.state == "queued"]
        for job in queued:
            try:
                await self._store.update(job.as_interrupted(time.time()))
            except Exception as error:  # a closing process: say so, and go on
                log.warning("could not record knowledge job %s as interrupted: %s", job.id, error)

    async def _checked(self, job: KnowledgeJob) -> KnowledgeJob:
        """``job``, or the verdict on it if it is unfinished and has gone silent."""
        now = time.time()
        stale_before = now - self._stale_after_s
        if not job.stale(stale_before) or self._runs(job.id):
            return job
        verdict = job.as_interrupted(now)
        if await self._store.interrupt(verdict, stale_before):
            log.warning(
                "knowledge job %s: no sign of life from %s since %s; recorded as failed",
                job.id,
                job.owner,
                job.beat_at,
            )
            return verdict
        return await self._store.get(job.id) or verdict  # it beat or finished meanwhile

    def _runs(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._live

    async def _beat_while_busy(self) -> None:
        while True:
            await asyncio.sleep(self._beat_s)
            with self._lock:
                ids = list(self._live)
            if not ids:
                return
            try:
                await self._store.beat(self.owner, ids, time.time())
            except Exception as error:  # the next beat may succeed; readers wait a minute
                log.warning("could not renew the beat of knowledge jobs %s: %s", ids, error)

    def _remember(self, job: KnowledgeJob) -> None:
        with self._lock:
            if job.finished:
                self._live.pop(job.id, None)
            elif job.id in self._live:
                self._live[job.id] = job


class _Recorder:
    """One job, run in the worker thread: each change written to the store through the
    event loop (progress throttled, the final state retried), failures logged."""

    def __init__(
        self,
        store: KnowledgeJobStore,
        job: KnowledgeJob,
        loop: asyncio.AbstractEventLoop,
        write_every_s: float,
        remember: Callable[[KnowledgeJob], None],
    ) -> None:
        self._store = store
        self._job = job
        self._loop = loop
        self._write_every_s = write_every_s
        self._remember = remember  # tells the process which of its jobs are unfinished
        self._written_at = 0.0

    def run(self, work: Work) -> None:
        try:
            self._change(state="running", started_at=time.time())
            result = work(self._progress)
        except Exception as error:  # the job fails, the worker thread lives on
            message = str(error) if isinstance(error, DeskhandError) else type(error).__name__
            if not isinstance(error, DeskhandError):
                log.exception("knowledge job %s failed", self._job.id)
            self._finish(state="failed", error=message)
            return
        self._finish(state="succeeded", result=result)

    def _progress(self, done: int, total: int) -> None:
        self._job = replace(self._job, done=done, total=total)
        if time.monotonic() - self._written_at >= self._write_every_s:
            self._write()

    def _change(self, **changes: Any) -> None:
        self._job = replace(self._job, **changes)
        self._remember(self._job)
        self._write()

    def _finish(self, **changes: Any) -> None:
        self._job = replace(self._job, finished_at=time.time(), **changes)
        pause = FIRST_PAUSE_S
        try:
            for attempt in range(1, FINAL_ATTEMPTS + 1):
                if self._write():
                    return
                if attempt < FINAL_ATTEMPTS:
                    time.sleep(pause)
                    pause *= 2
            log.error(
                "knowledge job %s %s, but the job store did not take it after %d attempts: "
                "readers will show it as interrupted",
                self._job.id,
                self._job.state,
                FINAL_ATTEMPTS,
            )
        finally:
            self._remember(self._job)

    def _write(self) -> bool:
        """Write the job as it stands; False (logged) when the store failed."""
        job = self._job = replace(self._job, beat_at=time.time())
        self._written_at = time.monotonic()
        try:
            stored = _on_loop(self._loop, self._store.update(job))
        except Exception as error:  # the store, the loop closed, a timeout: logged, not lost
            log.warning("knowledge job %s: could not record %s: %s", job.id, job.state, error)
            return False
        if not stored and job.finished:
            log.warning(
                "knowledge job %s is gone from the store: %s not recorded", job.id, job.state
            )
        return True


def _on_loop(loop: asyncio.AbstractEventLoop, step: Coroutine[Any, Any, bool]) -> bool:
    """Run ``step`` on ``loop`` from another thread and wait for it (with a timeout)."""
    if loop.is_closed():
        step.close()
        raise RuntimeError("the event loop is closed")
    future = asyncio.run_coroutine_threadsafe(step, loop)
    try:
        return future.result(timeout=WRITE_TIMEOUT_S)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"no answer within {WRITE_TIMEOUT_S} s") from None


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
