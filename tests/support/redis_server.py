"""Make sure a Redis server is reachable for the tests.

DESKHAND_TEST_REDIS_URL wins when set. Otherwise a throwaway ``redis-server`` is
started on a free port (nothing persisted) and stopped after the session; when no
``redis-server`` binary exists, a server already listening on 127.0.0.1:6379 is used.
Each test gets its own key prefix and deletes only its own keys.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis


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
