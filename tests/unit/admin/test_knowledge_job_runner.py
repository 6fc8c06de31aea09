"""KnowledgeJobs over a real SQLite job store: the worker thread's writes (throttled
progress, retried final state), beats, the interrupted verdict, and shutdown."""

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agent.admin import knowledge
from agent.admin.knowledge import KnowledgeJobs, Progress
from agent.runtime.knowledge_jobs import INTERRUPTED, KnowledgeJob
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_knowledge_jobs import SqliteKnowledgeJobs
from agent.runtime.stores import RuntimeStoreError


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteKnowledgeJobs]:
    database = await SqliteDatabase.open(tmp_path / "jobs.sqlite3")
    yield await SqliteKnowledgeJobs.open(database)
    await database.close()


class Gate:
    """Work that reports progress and waits for the test between steps."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.go = threading.Event()
        self.reached = threading.Event()

    def work(self, progress: Progress) -> dict[str, Any]:
        progress(0, self.steps)
        self.reached.set()
        assert self.go.wait(10)
        for done in range(1, self.steps + 1):
            progress(done, self.steps)
        return {"chunks": self.steps}


async def until(store: SqliteKnowledgeJobs, job_id: str, state: str) -> KnowledgeJob:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = await store.get(job_id)
        if job is not None and job.state == state:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError(f"{job_id} never became {state}: {await store.get(job_id)}")


async def test_every_step_reaches_the_store_and_the_loop_keeps_serving(
    store: SqliteKnowledgeJobs,
) -> None:
    jobs = KnowledgeJobs(store, "me", write_every_s=0.0)
    gate = Gate(steps=3)
    job = await jobs.submit("demo", "reindex", "demo", gate.work)
    assert (await store.get(job.id)) == job and job.state == "queued" and job.owner == "me"
    await asyncio.to_thread(gate.reached.wait, 10)
    running = await until(store, job.id, "running")
    assert running.started_at is not None and (running.done, running.total) == (0, 3)
    ticks = 0
    gate.go.set()
    while (await store.get(job.id)).state != "succeeded":  # type: ignore[union-attr]
        ticks += 1  # the loop runs while the thread writes through it
        await asyncio.sleep(0.01)
    done = await store.get(job.id)
    assert done is not None and done.result == {"chunks": 3} and done.finished_at is not None
    assert (done.done, done.total) == (3, 3) and ticks > 0
    assert await jobs.get(job.id) == done
    await jobs.aclose()


async def test_progress_writes_are_throttled(store: SqliteKnowledgeJobs) -> None:
    writes: list[KnowledgeJob] = []
    real_update = store.update

    async def counted(job: KnowledgeJob) -> bool:
        writes.append(job)
        return await real_update(job)

    store.update = counted  # type: ignore[method-assign]
    jobs = KnowledgeJobs(store, "me", write_every_s=60.0)

    def many_steps(progress: Progress) -> dict[str, Any]:
        for done in range(1, 1001):
            progress(done, 1000)
        return {}

    job = await jobs.submit("demo", "reindex", "demo", many_steps)
    final = await until(store, job.id, "succeeded")
    assert [w.state for w in writes] == ["running", "succeeded"]  # 1000 steps, no writes
    assert (final.done, final.total) == (1000, 1000)
    await jobs.aclose()


async def test_a_failing_store_is_logged_and_the_end_retried(
    store: SqliteKnowledgeJobs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(knowledge, "FIRST_PAUSE_S", 0.01)
    failures = {"succeeded": 2}
    real_update = store.update

    async def flaky(job: KnowledgeJob) -> bool:  # the real store, failing twice at the end
        if failures.get(job.state, 0) > 0:
            failures[job.state] -= 1
            raise RuntimeStoreError("SQLite failed: disk I/O error")
        return await real_update(job)

    store.update = flaky  # type: ignore[method-assign]
    jobs = KnowledgeJobs(store, "me")
    with caplog.at_level(logging.WARNING, logger="agent.admin.knowledge"):
        job = await jobs.submit("demo", "reindex", "demo", lambda progress: {"chunks": 0})
        done = await until(store, job.id, "succeeded")
    assert done.result == {"chunks": 0} and failures["succeeded"] == 0
    problems = [r.getMessage() for r in caplog.records if "could not record" in r.getMessage()]
    assert len(problems) == 2 and "disk I/O error" in problems[0]
    await jobs.aclose()


async def test_a_job_whose_process_stopped_reads_as_failed(store: SqliteKnowledgeJobs) -> None:
    long_ago = time.time() - 3600
    dead = KnowledgeJob(
        "job_dead", "demo", "ingest", "a.md", "running", 2, 9, long_ago, long_ago,
        owner="gone:1:x", beat_at=long_ago,
    )  # fmt: skip
    await store.create(dead)
    reader = KnowledgeJobs(store, "reader")
    seen = await reader.get("job_dead")
    assert seen is not None and seen.state == "failed" and seen.error == INTERRUPTED
    assert (seen.done, seen.total) == (2, 9) and seen.finished_at is not None
    assert await store.get("job_dead") == seen  # persisted: every reader agrees
    listed = await reader.page(None, 10, None)
    assert listed.items == [seen]


async def test_a_live_job_keeps_beating(store: SqliteKnowledgeJobs) -> None:
    jobs = KnowledgeJobs(store, "me", beat_s=0.05, stale_after_s=0.5)
    other = KnowledgeJobs(store, "other", stale_after_s=0.5)
    gate = Gate(steps=1)
    job = await jobs.submit("demo", "reindex", "demo", gate.work)
    await asyncio.to_thread(gate.reached.wait, 10)
    await asyncio.sleep(1.0)  # twice the timeout without a progress write: beats only
    seen = await other.get(job.id)
    assert seen is not None and seen.state == "running", seen
    assert seen.beat_at is not None and seen.beat_at > time.time() - 0.5
    gate.go.set()
    await until(store, job.id, "succeeded")
    await jobs.aclose()


async def test_shutdown_records_the_queue_as_interrupted(store: SqliteKnowledgeJobs) -> None:
    jobs = KnowledgeJobs(store, "me")
    gate = Gate(steps=1)
    first = await jobs.submit("demo", "reindex", "demo", gate.work)
    waiting = await jobs.submit("demo", "reindex", "demo", gate.work)
    await asyncio.to_thread(gate.reached.wait, 10)
    await jobs.aclose()
    never_ran = await store.get(waiting.id)
    assert never_ran is not None and never_ran.state == "failed" and never_ran.error == INTERRUPTED
    gate.go.set()  # the running one still ends, and says so
    ended = await until(store, first.id, "succeeded")
    assert ended.result == {"chunks": 1}
