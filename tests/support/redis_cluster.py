"""A throwaway three-master Redis Cluster for tests.

``redis_cluster()`` starts three ``redis-server --cluster-enabled yes`` processes on free
ports (nothing persisted), joins them with ``redis-cli --cluster create``, waits for
``cluster_state:ok`` and yields the URL of the first node. The servers are stopped
afterwards, whatever happens. ``RedisToolsMissing`` is raised when the binaries are absent;
the ``redis_cluster_url`` fixture in ``tests/conftest.py`` turns that into a skip.
"""

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import redis

MASTERS = 3
BUS_PORT_OFFSET = 10_000
START_TIMEOUT_S = 20.0

_Probe = Callable[[redis.Redis], bool]


class RedisToolsMissing(RuntimeError):
    """redis-server or redis-cli is not installed."""


def cluster_binaries() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise RedisToolsMissing("a Redis Cluster needs redis-server and redis-cli on PATH")
    return server, cli


@contextmanager
def redis_cluster() -> Iterator[str]:
    server, cli = cluster_binaries()
    with tempfile.TemporaryDirectory(prefix="deskhand-cluster-") as workdir, ExitStack() as stack:
        ports = _cluster_ports(MASTERS)
        for port in ports:
            process = stack.enter_context(_cluster_node(server, port, Path(workdir)))
            _wait_for_ping(port, process)
        _create(cli, ports)
        for port in ports:
            _wait_for_cluster_ok(port)
        yield f"redis://127.0.0.1:{ports[0]}/0"


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose bus port (port + 10000) is free too, both below the ephemeral range."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(10_000, 22_000)
        if port not in ports and _free(port) and _free(port + BUS_PORT_OFFSET):
            ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def _cluster_node(binary: str, port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    node_dir = workdir / str(port)
    node_dir.mkdir()
    command = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--cluster-enabled", "yes",
        "--cluster-config-file", str(node_dir / "nodes.conf"),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(node_dir),
    ]  # fmt: skip
    with (node_dir / "redis.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _create(cli: str, ports: list[int]) -> None:
    nodes = [f"127.0.0.1:{port}" for port in ports]
    command = [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed: {result.stdout}{result.stderr}")


def _wait_for_ping(port: int, process: subprocess.Popen[bytes]) -> None:
    def answers(client: redis.Redis) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"cluster node on port {port} exited ({process.returncode})")
        return bool(client.ping())

    _wait(port, answers, "answer PING")


def _wait_for_cluster_ok(port: int) -> None:
    def ok(client: redis.Redis) -> bool:
        info = client.cluster("INFO")  # redis-py parses it into a dict
        return bool(info.get("cluster_state") == "ok")

    _wait(port, ok, "report cluster_state:ok")


def _wait(port: int, ready: _Probe, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    client: redis.Redis = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    try:
        while time.monotonic() < deadline:
            try:
                if ready(client):
                    return
            except (redis.RedisError, OSError):
                pass
            time.sleep(0.05)
    finally:
        client.close()
    raise RuntimeError(f"cluster node 127.0.0.1:{port} did not {what} within {START_TIMEOUT_S} s")
