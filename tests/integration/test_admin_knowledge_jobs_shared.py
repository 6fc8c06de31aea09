"""Knowledge jobs seen from every replica: two app instances sharing one Redis prefix (or
one SQLite data dir) show a job accepted by the other, its progress and its end; a
restart keeps them; a job whose process stopped reads as failed. The real app, the real
embedding model (loaded once for the module) on a tiny document."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from agent.admin.knowledge import WRITE_EVERY_S, KnowledgeJobs, Progress
from agent.runtime.knowledge_jobs import INTERRUPTED, KnowledgeJob
from tests.support.admin_app import AdminApp, admin_app

pytestmark = pytest.mark.slow

DOC = "# Returns\n\nYou can return any lamp within 30 days of delivery for a full refund.\n"
Replicas = tuple[AdminApp, AdminApp]


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Replicas]:
    """Two instances of the app over the same runtime stores."""
    async with AsyncExitStack() as stack:
        if request.param == "redis":
            shared: dict[str, Any] = {
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }
            one = await stack.enter_async_context(admin_app(tmp_path / "one", **shared))
            two = await stack.enter_async_context(admin_app(tmp_path / "two", **shared))
        else:
            one = await stack.enter_async_context(admin_app(tmp_path))
            two = await stack.enter_async_context(admin_app(tmp_path))  # the same data dir
        yield one, two


async def job_on(app: AdminApp, job_id: str) -> dict[str, Any]:
    response = await app.http.get(f"/admin/v1/knowledge/jobs/{job_id}", headers=app.auth("viewer"))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def finished_on(app: AdminApp, job_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = await job_on(app, job_id)
        if job["state"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} not finished after {timeout_s}s")


def runner(app: AdminApp, write_every_s: float = WRITE_EVERY_S) -> KnowledgeJobs:
    """The app's job runner, made here (as its first request would) to run test work."""
    jobs = KnowledgeJobs(app.parts.runtime.knowledge_jobs, write_every_s=write_every_s)
    app.app.state.knowledge_jobs = jobs
    return jobs


async def test_an_upload_on_one_replica_is_followed_on_the_other(replicas: Replicas) -> None:
    one, two = replicas
    uploaded = await one.http.post(
        "/admin/v1/knowledge/demo/documents",
        json={"filename": "returns.md", "content": DOC},
        headers=one.auth("admin"),
    )
    assert uploaded.status_code == 202, uploaded.text
    accepted = uploaded.json()["job"]
    assert accepted["state"] == "queued" and accepted["owner"]
    seen_at_once = await job_on(two, accepted["id"])  # recorded before the 202
    assert seen_at_once["target"] == "returns.md" and seen_at_once["owner"] == accepted["owner"]

    done = await finished_on(two, accepted["id"])
    assert done["state"] == "succeeded", done
    assert done["result"]["added"] == 1 and done["done"] == done["total"] > 0
    assert done["progress"] == 1.0 and done["finished_at"] >= done["started_at"]
    assert done == await job_on(one, accepted["id"])
    listed = await two.http.get("/admin/v1/knowledge/jobs", headers=two.auth("viewer"))
    assert [job["id"] for job in listed.json()["items"]] == [accepted["id"]]
    hidden = await two.http.get("/admin/v1/knowledge/jobs", headers=two.auth("viewer-other"))
    assert hidden.json()["items"] == []


async def test_progress_is_visible_on_the_other_replica_while_it_runs(
    replicas: Replicas,
) -> None:
    one, two = replicas
    jobs = runner(one, write_every_s=0.0)
    step = threading.Semaphore(0)
    reported = threading.Event()

    def work(progress: Progress) -> dict[str, Any]:
        for done in range(4):
            progress(done, 4)
            reported.set()
            assert step.acquire(timeout=10)
        progress(4, 4)
        return {"chunks": 4}

    job = await jobs.submit("demo", "reindex", "demo", work)
    for done in range(4):
        await asyncio.to_thread(reported.wait, 10)
        reported.clear()
        seen = await job_on(two, job.id)
        assert seen["state"] == "running" and seen["owner"] == jobs.owner
        assert (seen["done"], seen["total"], seen["progress"]) == (done, 4, done / 4)
        step.release()
    done_job = await finished_on(two, job.id)
    assert done_job["state"] == "succeeded" and done_job["result"] == {"chunks": 4}


async def test_a_job_whose_process_stopped_is_failed_not_running_forever(
    replicas: Replicas,
) -> None:
    one, two = replicas
    long_ago = time.time() - 3600
    lost = KnowledgeJob(
        "job_0123456789abcdef", "demo", "ingest", "big.pdf", "running", 40, 100,
        created_at=long_ago, started_at=long_ago, owner="crashed-host:7:abc", beat_at=long_ago,
    )  # fmt: skip
    await one.parts.runtime.knowledge_jobs.create(lost)
    seen = await job_on(two, lost.id)
    assert seen["state"] == "failed" and seen["error"] == INTERRUPTED
    assert (seen["done"], seen["total"], seen["owner"]) == (40, 100, "crashed-host:7:abc")
    assert seen["finished_at"] >= long_ago + 3600 - 60
    assert await job_on(one, lost.id) == seen  # recorded, not just shown
    listed = await one.http.get("/admin/v1/knowledge/jobs", headers=one.auth("viewer"))
    assert listed.json()["items"] == [seen]
    missing = await one.http.get("/admin/v1/knowledge/jobs/job_nope", headers=one.auth("viewer"))
    assert missing.status_code == 404 and "process" not in missing.json()["error"]


async def test_a_restart_keeps_the_jobs(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as before:
        jobs = runner(before)
        job = await jobs.submit("demo", "reindex", "demo", lambda progress: {"chunks": 0})
        ended = await finished_on(before, job.id)
    async with admin_app(tmp_path) as after:
        assert await job_on(after, job.id) == ended
        page = await after.http.get(
            "/admin/v1/knowledge/jobs", params={"limit": 1}, headers=after.auth("viewer")
        )
        assert page.json() == {"items": [ended], "next_cursor": None}
