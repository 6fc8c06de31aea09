"""``deskhand bench turn`` and ``bench prefix`` at tiny sizes, run as a user runs them.

No timing is asserted: only that each prints its one JSON line with the issue's fields,
that bench turn refuses to run without Redis and leaves no key behind, and that the prompt
layout keeps a short conversation's requests extending each other.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ENTRY = "import sys; from agent.cli.main import main; sys.argv[0] = 'deskhand'; main()"


def deskhand(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *arguments],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
        check=False,
    )


def json_line(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # the JSON line alone on stdout
    result: dict[str, object] = json.loads(lines[0])
    return result


def bench_keys(redis_url: str) -> set[bytes]:
    client = redis.Redis.from_url(redis_url)
    try:
        return set(client.scan_iter(match="deskhand:bench-turn:*", count=500))
    finally:
        client.close()


@pytest.mark.timeout(300)
def test_bench_turn_prints_its_line_and_cleans_up(redis_url: str, tmp_path: Path) -> None:
    before = bench_keys(redis_url)
    options = ["--chunks", "300", "--turns", "4", "--per-conversation", "2"]
    result = json_line(deskhand(tmp_path, "bench", "turn", "--redis-url", redis_url, *options))
    assert set(result) == {"turns", "p50_ms", "p99_ms", "baseline_p50_ms", "ratio"}
    assert result["turns"] == 4
    assert all(isinstance(result[k], float) for k in ("p50_ms", "p99_ms", "baseline_p50_ms"))
    assert bench_keys(redis_url) == before


@pytest.mark.timeout(60)
def test_bench_turn_refuses_to_run_without_redis(tmp_path: Path) -> None:
    done = deskhand(tmp_path, "bench", "turn", "--redis-url", "redis://127.0.0.1:1/0")
    assert done.returncode == 1
    assert "Redis cannot be reached" in done.stderr
    assert done.stdout == ""


@pytest.mark.timeout(300)
def test_bench_prefix_prints_its_line(tmp_path: Path) -> None:
    result = json_line(deskhand(tmp_path, "bench", "prefix", "--turns", "3"))
    assert set(result) == {"turns", "prefix_reuse", "static_prefix_chars"}
    assert result["turns"] == 3
    assert isinstance(result["static_prefix_chars"], int) and result["static_prefix_chars"] > 1000
    reuse = result["prefix_reuse"]
    assert isinstance(reuse, float) and reuse >= 0.9  # well within the history budget
