"""The metrics' plumbing: a worker's own /metrics port, the queue-depth gauge that never
hangs a scrape, and the webhook-rejection tally that survives a store outage."""

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY

from agent.cli.serve import _serve_metrics
from agent.config.settings import Settings
from agent.metrics import QUEUE_DEPTH
from agent.queue_depth import refresh_queue_depth
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.sqlite_stats import SqliteStats
from agent.runtime.stats_records import StatsRow
from agent.runtime.stores import RuntimeStoreError
from agent.webhook_rejections import RejectionTally, cause_of, count_rejection
from tests.support.redis_server import free_port


def test_a_worker_serves_its_metrics_on_its_own_port() -> None:
    """Each supervised worker process on the configured port plus its slot."""
    port = free_port() - 1
    settings = Settings(_env_file=None, worker_metrics_port=port)  # type: ignore[call-arg]
    server = _serve_metrics(settings, slot=1)
    assert server is not None
    try:
        response = httpx.get(f"http://127.0.0.1:{port + 1}/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert "deskhand_turns_total" in response.text
    assert _serve_metrics(Settings(_env_file=None)) is None  # type: ignore[call-arg]


class Depth:
    def __init__(self, depth: int, delay_s: float = 0.0, fails: bool = False) -> None:
        self._depth, self._delay_s, self._fails = depth, delay_s, fails

    async def depth(self) -> int:
        await asyncio.sleep(self._delay_s)
        if self._fails:
            raise RuntimeStoreError("Redis is away")
        return self._depth


def gauge() -> float:
    return REGISTRY.get_sample_value("deskhand_queue_depth") or 0.0


async def test_the_queue_depth_is_read_with_a_timeout_and_kept_on_failure() -> None:
    QUEUE_DEPTH.set(0)
    assert await refresh_queue_depth(Depth(7))  # type: ignore[arg-type]
    assert gauge() == 7
    slow = Depth(99, delay_s=5)
    started = asyncio.get_running_loop().time()
    assert not await refresh_queue_depth(slow, timeout_s=0.05)  # type: ignore[arg-type]
    assert asyncio.get_running_loop().time() - started < 1
    assert not await refresh_queue_depth(Depth(99, fails=True))  # type: ignore[arg-type]
    assert gauge() == 7


def test_statuses_map_to_causes() -> None:
    assert [cause_of(s) for s in (400, 401, 404, 413, 422, 503, 500, 418)] == [
        "bad_request",
        "bad_signature",
        "not_found",
        "too_large",
        "invalid",
        "unavailable",
        "error",
        "other",
    ]


class Failing:
    async def add(self, rows: list[StatsRow]) -> None:
        raise RuntimeStoreError("Redis is away")


async def test_the_tally_reaches_the_store_in_one_write_and_survives_an_outage(
    tmp_path: Path,
) -> None:
    labels = {"channel": "generic", "cause": "unavailable", "status": "503"}
    before = REGISTRY.get_sample_value("deskhand_webhook_rejections_total", labels) or 0.0
    tally = RejectionTally()
    count_rejection(tally, "demo", "generic", 503)
    count_rejection(tally, "demo", "generic", 503)
    tally.add("demo", 401)
    after = REGISTRY.get_sample_value("deskhand_webhook_rejections_total", labels)
    assert after == before + 2
    with pytest.raises(RuntimeStoreError):
        await tally.flush(Failing())  # type: ignore[arg-type]
    database = await SqliteDatabase.open(tmp_path / "stats.sqlite3")
    try:
        store = await SqliteStats.open(database, retention_s=3600)
        await tally.flush(store)
        await tally.flush(store)  # nothing left: nothing added twice
        totals = await store.totals(0, 4_000_000_000, "demo")
    finally:
        await database.close()
    assert totals == {"rejection:unavailable": 2, "rejection:bad_signature": 1}
