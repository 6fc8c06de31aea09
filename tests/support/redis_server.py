"""Make sure a Redis server is reachable for the tests.

DESKHAND_TEST_REDIS_URL wins when set. Otherwise a throwaway ``redis-server`` is
started on a free port (nothing persisted) and stopped after the session; when no
``redis-server`` binary exists, a server already listening on 127.0.0.1:6379 is used.
Each test gets its own key prefix and deletes only its own keys.

``RedisProcess`` is a server of a test's own (durable by default: appendonly yes,
appendfsync always) that can be killed with SIGKILL and started again on the same port and
directory, so that only what the AOF kept survives.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


@contextmanager
def redis_for_tests() -> Iterator[str]:
    configured = os.environ.get("DESKHAND_TEST_REDIS_URL")
    if configured:
        if not reachable(configured):
            raise RuntimeError(f"DESKHAND_TEST_REDIS_URL={configured} cannot be reached")
        yield configured
        return
    binary = shutil.which("redis-server")
    if binary:
        with _throwaway(binary) as url:
            yield url
        return
    fallback = "redis://127.0.0.1:6379/0"
    if reachable(fallback):
        yield fallback
        return
    raise RuntimeError("the tests need Redis: install redis-server, or set DESKHAND_TEST_REDIS_URL")


@contextmanager
def _throwaway(binary: str) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="deskhand-redis-") as workdir:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_until_reachable(url, process)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_reachable(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with status {process.returncode}")
        if reachable(url):
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start within 10 s")


class RedisProcess:
    """A redis-server of one test's own; use it as a context manager so it is always stopped.

    ``probe="ping"`` waits for PING (also past AOF loading); ``probe="tcp"`` waits for the
    port to accept connections (a TLS-only server, which a plain PING cannot reach).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        appendonly: bool = True,
        appendfsync: Literal["always", "everysec", "no"] = "always",
        port: int | None = None,
        args: Sequence[str] = (),
        config_file: Path | None = None,
        probe: Literal["ping", "tcp"] = "ping",
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.data_dir = data_dir
        self.port = port or free_port()
        self.probe = probe
        self._process: subprocess.Popen[bytes] | None = None
        self._command = self._build_command(config_file, appendonly, appendfsync, args)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"redis-{self.port}.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> "RedisProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(self._command, stdout=log, stderr=log)
        self._wait_until_ready(self._process)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown save, no AOF rewrite; what was fsynced is all that is left."""
        self._end(signal.SIGKILL)

    def restart(self) -> None:
        """Kill the server and start it again on the same port and data directory."""
        self.kill()
        self.start()

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def __enter__(self) -> "RedisProcess":
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _build_command(
        self,
        config_file: Path | None,
        appendonly: bool,
        appendfsync: str,
        args: Sequence[str],
    ) -> list[str]:
        head = [self.binary] + ([str(config_file)] if config_file else [])
        return [
            *head,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if appendonly else "no",
            "--appendfsync", appendfsync,
            *args,
        ]  # fmt: skip

    def _end(self, how: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(how)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._process = None
                tail = self.log()[-2000:]
                raise RuntimeError(f"redis-server exited with status {process.returncode}: {tail}")
            if self._ready():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not start within 10 s")

    def _ready(self) -> bool:
        if self.probe == "ping":
            return _answers(self.port)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


def _answers(port: int) -> bool:
    """The server answers commands (done loading its AOF); asking for a password counts."""
    once = Retry(NoBackoff(), 0)  # the default retries a refused password with backoff
    client = redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=1, retry=once)
    try:
        return bool(client.ping())
    except (redis.AuthenticationError, redis.ResponseError):
        return True
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
