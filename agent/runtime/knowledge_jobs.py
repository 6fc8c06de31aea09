"""Knowledge-base jobs (ingest, reindex) as records every replica can read: the record,
the store interface and its paging cursor.

A job runs in a thread of the process that accepted it (its ``owner``), which writes each
state change and progress step to the store and renews ``beat_at`` while the job is
queued or running. A job whose beat is too old is declared failed by whoever reads it
(``agent.admin.knowledge``); beats are stamped with the writer's clock and judged with
the reader's, so replicas' clocks must agree to well within that timeout (NTP does).
Finished jobs are kept ``retention_s`` after they finish, and at most ``keep`` per tenant
(the newest).

Implementations: ``agent.runtime.sqlite_knowledge_jobs`` and
``agent.runtime.redis_knowledge_jobs``; one contract suite,
tests/contracts/test_knowledge_job_store.py.
"""

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from agent.runtime.admin_stores import InvalidCursor

SCHEMA_VERSION = 1
RETENTION_S = 7 * 86_400  # finished jobs are forgotten a week after they finish
KEPT_PER_TENANT = 200  # and beyond the newest 200 of their tenant
UNFINISHED = ("queued", "running")
FINISHED = ("succeeded", "failed")
INTERRUPTED = "interrupted: the process running it stopped"
_CURSOR = re.compile(r"^(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\|([A-Za-z0-9_-]{1,64})$")


@dataclass(frozen=True)
class KnowledgeJob:
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
    owner: str = ""  # the process that runs it
    beat_at: float | None = None  # the owner's latest sign of life while it is unfinished

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def interrupted(self) -> bool:
        return self.state == "failed" and self.error == INTERRUPTED

    def public(self) -> dict[str, Any]:
        """What the API shows."""
        data = asdict(self)
        data["progress"] = round(self.done / self.total, 4) if self.total else None
        return data

    def to_dict(self) -> dict[str, Any]:
        return {"v": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "KnowledgeJob":
        return cls(**{k: v for k, v in data.items() if k != "v"})

    def stale(self, before: float) -> bool:
        """Unfinished, with no sign of life since ``before``."""
        beat = self.beat_at if self.beat_at is not None else self.created_at
        return not self.finished and beat < before

    def as_interrupted(self, at: float) -> "KnowledgeJob":
        return replace(self, state="failed", error=INTERRUPTED, finished_at=at)


@dataclass(frozen=True)
class JobPage:
    items: list[KnowledgeJob]
    next_cursor: str | None


class KnowledgeJobStore(Protocol):
    async def create(self, job: KnowledgeJob) -> None:
        """Store a new job (its id is new); forgets the tenant's finished jobs beyond the
        newest ``keep``."""
        ...

    async def update(self, job: KnowledgeJob) -> bool:
        """Write the job's new state and progress, if the store still expects it: the
        stored job is unfinished, or was declared interrupted and ``job`` is its owner's
        final state (the truth replaces the guess). False when not written (unknown,
        expired or already finished)."""
        ...

    async def beat(self, owner: str, job_ids: list[str], at: float) -> None:
        """``beat_at = at`` on those of ``job_ids`` that ``owner`` runs and are unfinished."""
        ...

    async def interrupt(self, job: KnowledgeJob, stale_before: float) -> bool:
        """Store ``job`` (the failed verdict on a silent job) if the stored one is still
        unfinished with no beat since ``stale_before``; False if it beat or finished since."""
        ...

    async def get(self, job_id: str) -> KnowledgeJob | None:
        """The job; None if unknown, or finished longer than the retention ago."""
        ...

    async def page(self, tenant: str | None, limit: int, cursor: str | None) -> JobPage:
        """Jobs newest first (by ``created_at``, then id), of ``tenant`` or of all; at most
        ``limit``; ``cursor`` continues a listing (an unknown one raises InvalidCursor)."""
        ...


def cursor_of(job: KnowledgeJob) -> str:
    return f"{job.created_at!r}|{job.id}"


def parse_cursor(cursor: str) -> tuple[float, str]:
    """The (created_at, id) position a cursor continues after."""
    found = _CURSOR.match(cursor)
    if found is None:
        raise InvalidCursor(f"cursor {cursor!r} is not one this listing handed out")
    return float(found.group(1)), found.group(2)


def after(job: KnowledgeJob, position: tuple[float, str] | None) -> bool:
    """Whether ``job`` comes after ``position`` in a newest-first listing."""
    return position is None or (job.created_at, job.id) < position
