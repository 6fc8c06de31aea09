"""``deskhand replay`` end to end, as a user runs it: a live run recorded against
``deskhand llm-stub`` serving a script, the recording replayed in cassette mode with the
same results, and failures that read well (the turn, the expectation, what happened, the
trace; a changed request with its diff)."""

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.redis_server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
DESKHAND = [str(Path(sys.executable).with_name("deskhand"))]

ROUND_TRIP = """\
name: round-trip
turns:
  - customer: Where is my order BL-10234?
    expect:
      tool_called: {name: lookup_order, arguments_include: {order_id: BL-10234}}
      reply_matches: shipped
  - customer: How long does a refund take?
    expect:
      reply_matches: 5–7 business days
"""
SCRIPT = [
    {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "BL-10234"}}]},
    {"content": "Your order BL-10234 is shipped and should arrive on 2026-12-01."},
    {
        "content": "We refund you within 5–7 business days after your return has been "
        "received and inspected at our warehouse in Rotterdam. [1]"
    },
]
FAILING = """\
name: deliberately-failing
conditions: {model: unavailable}
turns:
  - customer: How long does a refund take?
    expect:
      reply_matches: 30 days money back
---
name: changed-request
turns:
  - customer: Where is my order BL-10234?
    llm:
      - key: "0000000000000000000000000000000000000000000000000000000000000000"
        request: {messages: [{role: user, content: "Where is my parcel?"}]}
        content: It is on its way.
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    return env | {"DESKHAND_DATA_DIR": str(tmp_path / "data")}


def _replay(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DESKHAND, "replay", *args],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def llm_stub(tmp_path: Path) -> Iterator[str]:
    """``deskhand llm-stub --script`` in its own process."""
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(SCRIPT, allow_unicode=True))
    port = free_port()
    process = subprocess.Popen(
        [*DESKHAND, "llm-stub", "--port", str(port), "--script", str(script)],
        cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_record_then_replay_then_failures_that_read_well(tmp_path: Path, llm_stub: str) -> None:
    (tmp_path / "round-trip.yaml").write_text(ROUND_TRIP)
    (tmp_path / "failing.yaml").write_text(FAILING)

    recorded = _replay(
        tmp_path, "round-trip.yaml", "--record", "--llm-base-url", llm_stub, "--json", "live.json"
    )
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "PASS round-trip" in recorded.stdout and "pass^1 1.00" in recorded.stdout
    cassette = yaml.safe_load((tmp_path / "cassettes" / "round-trip.cassette.yaml").read_text())
    assert [len(turn) for turn in cassette["turns"]] == [2, 1]
    assert all(
        len(answer["key"]) == 64 and answer["request"]
        for turn in cassette["turns"]
        for answer in turn
    )

    replayed = _replay(
        tmp_path,
        "round-trip.yaml",
        "failing.yaml",
        "--json",
        "cassette.json",
        "--junit",
        "junit.xml",
        "--repeat",
        "2",
    )
    out = replayed.stdout
    assert replayed.returncode == 1, out + replayed.stderr
    live = json.loads((tmp_path / "live.json").read_text())["conversations"][0]
    again = json.loads((tmp_path / "cassette.json").read_text())["conversations"]
    round_trip = next(c for c in again if c["name"] == "round-trip")
    assert round_trip["pass^1"] == round_trip["pass^2"] == 1.0
    for run in round_trip["runs"]:
        assert [s["observed"] for s in run["steps"]] == [
            s["observed"] for s in live["runs"][0]["steps"]
        ]

    lines = out.splitlines()
    assert "FAIL deliberately-failing [1/2]" in out
    assert "  turn 1 (failing.yaml:4) customer: 'How long does a refund take?'" in lines
    assert "    expected reply_matches: /30 days money back/" in lines
    assert any(
        line.startswith("      instead: reply 'Here is what our help center says") for line in lines
    )
    assert any(
        line.startswith("    trace: guard(language=en) → understand → retrieve(") for line in lines
    )

    assert "FAIL changed-request [1/2]" in out
    assert (
        "    expected llm: answer 1 keyed 000000000000… (the request it was recorded for)" in lines
    )
    assert "the agent sent the model a different request" in out
    assert "      -Where is my parcel?" in lines
    assert "      +Where is my order BL-10234?" in lines
    assert "  round-trip: pass^1 1.00, pass^2 1.00 (2/2)" in lines
    assert "overall: pass^1 0.33, pass^2 0.33" in lines

    tree = ET.parse(tmp_path / "junit.xml")  # noqa: S314 (our own output)
    suite = tree.getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("6", "4")


def test_a_malformed_file_is_refused_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "name: bad\nturns:\n  - customer: hi\n    expect: {replied: maybe, mood: 1}\n"
    )
    result = _replay(tmp_path, "bad.yaml")
    assert result.returncode == 2
    assert "bad.yaml:4: turns[0].expect.mood: unknown key" in " ".join(result.stderr.split())
