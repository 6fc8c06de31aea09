"""Stopping a process the tests started in its own session (a supervisor and its forks)."""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def stop_process_group(proc: "subprocess.Popen[str]", grace_s: float = 15) -> None:
    """SIGTERM, then the whole group with SIGKILL if it is still there after ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_while_running(
    proc: "subprocess.Popen[str]",
    log: Path,
    condition: Callable[[], bool],
    what: str,
    timeout_s: float,
) -> None:
    """Poll ``condition`` until it holds; fail with the process's log if the process exits
    first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the process exited before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:g} s\n{log.read_text()}")
        time.sleep(0.05)
