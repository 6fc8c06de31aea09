"""``deskhand bench webhook`` at a tiny size: real servers, real Redis, a real load generator.

No timing is asserted: only that the JSON line has its fields, that deliveries were
acknowledged, and that every acknowledged one is in its mailbox. The bench runs as a user
runs it: a separate process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ENTRY = "import sys; from agent.cli.main import main; sys.argv[0] = 'deskhand'; main()"
FIELDS = {
    "requests", "rps", "p50_ms", "p99_ms", "bare_rps", "bare_p99_ms", "ratio", "p99_ms_at_8",
    "lost", "acknowledged", "non_200", "channels", "load",
}  # fmt: skip


@pytest.mark.timeout(300)
def test_the_bench_acknowledges_deliveries_and_loses_none(redis_url: str, tmp_path: Path) -> None:
    command = [sys.executable, "-c", ENTRY, "bench", "webhook", "--redis-url", redis_url]
    done = subprocess.run(
        [*command, "--seconds", "1", "--connections", "4"],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout  # the JSON line alone on stdout
    result = json.loads(lines[0])
    assert result.keys() >= FIELDS
    assert result["requests"] > 0 and result["acknowledged"] > 0, result
    assert result["lost"] == 0, result
    assert result["non_200"] == 0, result
    assert "generic" in result["channels"]
