"""The contract every knowledge job store keeps (SQLite, Redis, Redis Cluster): records,
conditional updates, beats, the interrupted verdict, listing and retention."""

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from agent.runtime.admin_stores import InvalidCursor
from agent.runtime.knowledge_jobs import (
    INTERRUPTED,
    KEPT_PER_TENANT,
    RETENTION_S,
    KnowledgeJob,
    KnowledgeJobStore,
)
from agent.runtime.redis_knowledge_jobs import RedisKnowledgeJobs
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_knowledge_jobs import SqliteKnowledgeJobs
from tests.contracts.conftest import redis_backend

DAY = 86_400.0
Store = KnowledgeJobStore
Make = Callable[..., Store]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
async def make(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Make]:
    """A store maker: ``make(retention_s=..., keep=...)``, all on one backend."""
    if request.param == "sqlite":
        database = await SqliteDatabase.open(tmp_path / "jobs.sqlite3")
        await SqliteKnowledgeJobs.open(database)

        def sqlite(retention_s: float = RETENTION_S, keep: int = KEPT_PER_TENANT) -> Store:
            return SqliteKnowledgeJobs(database, retention_s, keep)

        yield sqlite
        await database.close()
        return
    client, keys = redis_backend(request)

    def redis(retention_s: float = RETENTION_S, keep: int = KEPT_PER_TENANT) -> Store:
        return RedisKnowledgeJobs(client, keys, retention_s, keep)

    yield redis
    await client.aclose()


@pytest.fixture
def store(make: Make) -> Store:
    return make()


def a_job(
    job_id: str, created_at: float, tenant: str = "demo", owner: str = "host:1:aa", **extra: object
) -> KnowledgeJob:
    job = KnowledgeJob(
        job_id,
        tenant,
        "ingest",
        "returns.md",
        created_at=created_at,
        owner=owner,
        beat_at=created_at,
    )
    return replace(job, **extra)  # type: ignore[arg-type]


async def test_a_job_reads_back_as_written(store: Store) -> None:
    now = time.time()
    job = a_job("job_1", now)
    await store.create(job)
    assert await store.get("job_1") == job
    assert await store.get("job_unknown") is None
    running = replace(job, state="running", started_at=now + 1, done=3, total=10, beat_at=now + 1)
    assert await store.update(running)
    assert await store.get("job_1") == running
    result = {"added": 1, "failures": [{"source": "a.pdf", "reason": "no text"}]}
    done = replace(
        running, state="succeeded", done=10, finished_at=now + 2, result=result, beat_at=now + 2
    )
    assert await store.update(done)
    found = await store.get("job_1")
    assert found == done and found.public()["progress"] == 1.0
    assert await store.update(replace(job, id="job_unknown")) is False


async def test_a_finished_job_is_never_changed_again(store: Store) -> None:
    now = time.time()
    job = a_job("job_1", now, state="failed", error="ValueError", finished_at=now)
    await store.create(a_job("job_1", now))
    assert await store.update(job)
    assert await store.update(replace(job, state="running", error=None)) is False
    assert await store.update(replace(job, state="succeeded", error=None)) is False
    assert await store.get("job_1") == job


async def test_a_beat_renews_only_the_owners_unfinished_jobs(store: Store) -> None:
    now = time.time() - 100
    mine = a_job("job_mine", now, owner="a")
    theirs = a_job("job_theirs", now, owner="b")
    ended = a_job("job_ended", now, owner="a")
    for job in (mine, theirs, ended):
        await store.create(job)
    finished = replace(ended, state="succeeded", finished_at=now + 1, beat_at=now + 1)
    assert await store.update(finished)
    await store.beat("a", ["job_mine", "job_theirs", "job_ended", "job_unknown"], now + 50)
    await store.beat("a", [], now + 60)
    assert await store.get("job_mine") == replace(mine, beat_at=now + 50)
    assert await store.get("job_theirs") == theirs
    assert await store.get("job_ended") == finished
    assert await store.get("job_unknown") is None


async def test_a_silent_job_is_declared_interrupted_once(store: Store) -> None:
    now = time.time()
    silent = a_job("job_silent", now - 600, state="running")
    alive = a_job("job_alive", now - 600, state="running")
    for job in (silent, alive):
        await store.create(a_job(job.id, job.created_at))
        assert await store.update(job)
    await store.beat(alive.owner, ["job_alive"], now - 5)
    stale_before = now - 60
    verdict = silent.as_interrupted(now)
    assert await store.interrupt(verdict, stale_before)
    found = await store.get("job_silent")
    assert found == verdict and found.state == "failed" and found.error == INTERRUPTED
    assert await store.interrupt(verdict, stale_before) is False  # finished already
    assert await store.interrupt(alive.as_interrupted(now), stale_before) is False  # it beat
    still = await store.get("job_alive")
    assert still is not None and still.state == "running" and still.beat_at == now - 5
    assert await store.interrupt(a_job("job_unknown", now).as_interrupted(now), now) is False


async def test_the_owners_end_replaces_an_interrupted_verdict(store: Store) -> None:
    now = time.time()
    job = a_job("job_1", now - 600, state="running", owner="a")
    await store.create(a_job("job_1", now - 600, owner="a"))
    assert await store.update(job)
    assert await store.interrupt(job.as_interrupted(now), now - 60)
    progress = replace(job, done=5, total=10, beat_at=now)
    assert await store.update(progress) is False  # no coming back to life
    stranger = replace(job, owner="b", state="succeeded", finished_at=now)
    assert await store.update(stranger) is False
    truth = replace(job, state="succeeded", done=10, total=10, finished_at=now, beat_at=now)
    assert await store.update(truth)
    assert await store.get("job_1") == truth
    assert await store.update(replace(truth, state="failed", error="x")) is False


async def test_listing_newest_first_by_tenant_in_pages(store: Store) -> None:
    now = time.time()
    jobs = [a_job(f"job_{i:02d}", now + i, tenant="demo" if i % 3 else "other") for i in range(12)]
    jobs.append(a_job("job_12b", now + 11))  # same time as job_11: ordered by id
    for job in jobs:
        await store.create(job)
    newest_first = sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=True)
    seen: list[KnowledgeJob] = []
    cursor: str | None = None
    for _ in range(10):
        page = await store.page(None, 4, cursor)
        assert len(page.items) <= 4
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == newest_first
    demo = await store.page("demo", 50, None)
    assert demo.items == [j for j in newest_first if j.tenant == "demo"]
    assert demo.next_cursor is None
    first = await store.page("other", 2, None)
    rest = await store.page("other", 50, first.next_cursor)
    assert first.items + rest.items == [j for j in newest_first if j.tenant == "other"]
    assert (await store.page("nobody", 10, None)).items == []
    for bad in ("job_03", "x|y|z", "1.5|", "nan|job_1"):
        with pytest.raises(InvalidCursor):
            await store.page(None, 10, bad)


async def test_finished_jobs_expire_after_the_retention(make: Make) -> None:
    store = make(retention_s=7 * DAY)
    now = time.time()
    old_end = a_job("job_old", now - 9 * DAY, state="succeeded", finished_at=now - 8 * DAY)
    recent_end = a_job("job_recent", now - 9 * DAY, state="failed", finished_at=now - 6 * DAY)
    old_running = a_job("job_running", now - 9 * DAY, state="running")
    for job in (old_end, recent_end, old_running):
        await store.create(a_job(job.id, job.created_at))
        assert await store.update(job)
    assert await store.get("job_old") is None
    assert await store.get("job_recent") == recent_end
    assert await store.get("job_running") == old_running
    listed = await store.page(None, 10, None)
    assert {job.id for job in listed.items} == {"job_recent", "job_running"}


async def test_a_tenant_keeps_its_newest_finished_jobs(make: Make) -> None:
    store = make(keep=2)
    now = time.time()
    unfinished = a_job("job_u", now - 10, state="running")
    await store.create(unfinished)
    for i in range(3):
        job = a_job(f"job_f{i}", now - 9 + i)
        await store.create(job)
        assert await store.update(replace(job, state="succeeded", finished_at=now))
    other = a_job("job_other", now - 20, tenant="other")
    await store.create(other)
    await store.create(a_job("job_new", now))
    listed = await store.page("demo", 10, None)
    assert [job.id for job in listed.items] == ["job_new", "job_f2", "job_u"]
    assert await store.get("job_f0") is None and await store.get("job_f1") is None
    assert await store.get("job_u") == unfinished
    assert await store.get("job_other") == other
    everyone = await store.page(None, 10, None)
    assert [job.id for job in everyone.items] == ["job_new", "job_f2", "job_u", "job_other"]
