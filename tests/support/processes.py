"""Stopping a process the tests started in its own session (a supervisor and its forks)."""

import os
import signal
import subprocess


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
