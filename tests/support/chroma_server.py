"""A throwaway Chroma server for the tests: ``chroma run`` from this venv, on a free port.

The ``chroma`` command next to the running Python is started as a subprocess with a
data folder of the test's own, waited for until its heartbeat answers, and stopped
afterwards. Only arguments built here reach the command.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.redis_server import free_port

START_TIMEOUT_S = 30.0


@dataclass
class ChromaServer:
    url: str
    process: "subprocess.Popen[bytes]"

    def stop(self) -> None:
        """Stop the server (idempotent) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def chroma_executable() -> Path | None:
    """The ``chroma`` command installed next to this Python, if there is one."""
    executable = Path(sys.executable).parent / "chroma"
    return executable if executable.exists() else None


def unused_url() -> str:
    """The URL of a port where, most likely, nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def running_chroma(path: Path) -> Iterator[ChromaServer]:
    """A Chroma server keeping its data in ``path``, stopped on exit."""
    executable = chroma_executable()
    if executable is None:
        raise RuntimeError("the chroma command is not installed next to this Python")
    port = free_port()
    command = [str(executable), "run", "--path", str(path), "--port", str(port)]
    quiet = subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=quiet, stderr=quiet)
    server = ChromaServer(f"http://127.0.0.1:{port}", process)
    try:
        wait_for_heartbeat(server)
        yield server
    finally:
        server.stop()


def wait_for_heartbeat(server: ChromaServer, seconds: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"chroma exited with status {server.process.returncode}")
        try:
            httpx.get(f"{server.url}/api/v2/heartbeat", timeout=1.0).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the chroma server at {server.url} did not start within {seconds:.0f} s")
