"""The processes of ``deskhand bench runtime``: Redis, the scripted model, the API, workers.

Every process is started in a session of its own (Ctrl+C reaches the bench only, which then
stops them in order) and writes to a log file of its own. ``Stack`` remembers them all and
stops whatever is still running when it is left, however it is left. ``CpuMeter`` adds up
the CPU time of the processes that count (the API and the workers) from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from agent.cli.common import errors

ENTRY = "import sys; from agent.cli.main import main; sys.argv[0] = 'deskhand'; main()"
# A supervised worker process's ready line (agent/cli/serve.py): its pid and slot.
WORKER_READY = re.compile(r"deskhand worker: process (\d+) \(slot (\d+)\) ready")
# The supervisor's model gateway (agent/llm/gateway.py): never killed, its CPU counted.
GATEWAY_READY = re.compile(r"deskhand worker: model gateway process (\d+) ready")
STOP_GRACE_S = 10.0
# DESKHAND_* variables of the caller's environment that still apply (the embedding model
# and where its ONNX export is kept, per-step checkpoints).
PASSED_SETTINGS = (
    "DESKHAND_EMBEDDING_MODEL",
    "DESKHAND_EMBEDDING_DEVICE",
    "DESKHAND_EMBEDDING_BACKEND",
    "DESKHAND_EMBEDDING_MODELS_DIR",
    "DESKHAND_CHECKPOINT_EVERY_STEP",
)


class BenchSetupError(RuntimeError):
    """A process of the bench did not start, or not in time."""


def log(message: str) -> None:
    errors.print(f"[dim]bench runtime:[/] {message}", highlight=False, soft_wrap=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deskhand_command(*args: str) -> list[str]:
    """Run deskhand with this interpreter (the bench's own virtual environment)."""
    return [sys.executable, "-c", ENTRY, *args]


def base_environment() -> dict[str, str]:
    """The caller's environment without its deskhand settings (the bench sets its own)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DESKHAND_") or key in PASSED_SETTINGS
    }
    env["PYTHONUNBUFFERED"] = "1"  # the worker's start-up line reaches its log at once
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 1500) -> str:
        return self.log_text()[-chars:].strip()

    def cpu_ms(self) -> float | None:
        """User + system CPU time so far, or None when it cannot be read (not Linux, gone)."""
        return cpu_ms(self.pid)

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=STOP_GRACE_S)


def cpu_ms(pid: int, reaped_children: bool = False) -> float | None:
    """User + system CPU time of ``pid`` so far (with ``reaped_children``: plus that of the
    children it waited for), or None when it cannot be read (not Linux, gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17)
    return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by the API, the worker supervisor, its worker processes and its model
    gateway since ``start``.

    The supervisor reaps its children, so the CPU of a killed worker process moves into the
    supervisor's ``cutime``/``cstime``: the sum of the API, the supervisor with its reaped
    children, and the live worker processes grows with every CPU second any of them spent.
    """

    def __init__(self) -> None:
        self._base: float | None = None
        self.total_ms = 0.0
        self.readable = True

    def start(self, stack: Stack) -> None:
        self._base = self._read(stack)

    def finish(self, stack: Stack) -> None:
        if self._base is not None:
            self.total_ms = self._read(stack) - self._base

    def _read(self, stack: Stack) -> float:
        readings = [cpu_ms(pid) for pid in stack.workers.live_pids()]
        if stack.supervisor is not None:  # after its children: one reaped meanwhile counts twice
            readings.append(cpu_ms(stack.supervisor.pid, reaped_children=True))
        if stack.api is not None:
            readings.append(cpu_ms(stack.api.pid))
        if any(value is None for value in readings):
            self.readable = False
        return sum(value for value in readings if value is not None)


@dataclass
class Restart:
    slot: int
    killed_pid: int
    killed_at: float
    up_s: float | None = None  # from the SIGKILL to the replacement's ready line


class WorkerProcesses:
    """The supervisor's worker processes, as their ready lines in its log name them."""

    def __init__(self) -> None:
        self.log: Proc | None = None
        self.killed: set[int] = set()
        self._newest: dict[int, int] = {}
        self.gateway_pid: int | None = None
        self._read_to = 0  # bytes of the log read so far (whole lines only)

    def ready(self) -> dict[int, int]:
        """Slot -> pid of the newest worker process that said it was ready there."""
        if self.log is None:
            return {}
        try:
            with self.log.log_path.open("rb") as file:
                file.seek(self._read_to)
                chunk = file.read()
        except OSError:
            return dict(self._newest)
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._read_to += len(complete)
        text = complete.decode(errors="replace")
        for match in WORKER_READY.finditer(text):
            self._newest[int(match.group(2))] = int(match.group(1))
        for match in GATEWAY_READY.finditer(text):
            self.gateway_pid = int(match.group(1))
        return dict(self._newest)

    def live_pids(self) -> list[int]:
        """The live worker processes and the model gateway (whose CPU counts too)."""
        workers = [pid for pid in self.ready().values() if pid not in self.killed]
        return workers + ([self.gateway_pid] if self.gateway_pid is not None else [])


class Stack:
    """Starts the bench's processes and stops every one of them on the way out."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.supervisor: Proc | None = None
        self.workers = WorkerProcesses()
        self.api: Proc | None = None
        self.cpu = CpuMeter()
        self.restarts: list[Restart] = []

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop_all()

    def spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Proc:
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as out:
            popen = subprocess.Popen(  # noqa: S603 - our own interpreter or redis-server
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,  # no stray .env of the caller's folder applies
                env=env or self.env,
                start_new_session=True,
            )
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def spawn_workers(self, processes: int) -> Proc:
        """``deskhand worker --processes N``: a supervisor forking N worker processes."""
        command = deskhand_command("worker", "--processes", str(processes))
        self.supervisor = self.spawn("worker-supervisor", command)
        self.workers.log = self.supervisor
        return self.supervisor

    def kill_worker(self, slot: int) -> Restart | None:
        """SIGKILL the worker process in ``slot`` (the supervisor forks another); None when
        the one killed before in that slot has no ready replacement yet."""
        pid = self.workers.ready().get(slot)
        if pid is None or pid in self.workers.killed:
            return None
        self.workers.killed.add(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        restart = Restart(slot, pid, time.monotonic())
        self.restarts.append(restart)
        return restart

    def stop_all(self) -> None:
        """SIGTERM everything still running (workers and API first), SIGKILL what lingers."""
        first = [p for p in self.procs if p.name.startswith(("worker", "api"))]
        rest = [p for p in self.procs if p not in first]
        for group in (first, rest):
            live = [p for p in group if p.alive()]
            for proc in live:
                with contextlib.suppress(ProcessLookupError):
                    proc.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE_S
            for proc in live:
                try:
                    proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)  # with what it forked
                    proc.kill()


def redis_server_command(port: int, workdir: Path) -> list[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise BenchSetupError("redis-server is not installed: install it, or pass --redis-url")
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(workdir),
    ]  # fmt: skip


async def wait_until(
    ready: Callable[[], Awaitable[bool]], proc: Proc, timeout_s: float, what: str
) -> float:
    """Poll ``ready`` until it says yes; seconds waited. Fails if ``proc`` exits first."""
    started = time.monotonic()
    while True:
        if await ready():
            return time.monotonic() - started
        if not proc.alive():
            raise BenchSetupError(
                f"{proc.name} exited with status {proc.popen.returncode} before {what}:\n"
                f"{proc.tail()}"
            )
        if time.monotonic() - started > timeout_s:
            raise BenchSetupError(f"{what}: not within {timeout_s:g} s\n{proc.tail()}")
        await asyncio.sleep(0.05)


async def wait_exit(proc: Proc, timeout_s: float) -> int:
    """Wait (without blocking the loop) for ``proc`` to exit; its status."""
    deadline = time.monotonic() + timeout_s
    while proc.alive():
        if time.monotonic() > deadline:
            raise BenchSetupError(f"{proc.name} did not finish within {timeout_s:g} s")
        await asyncio.sleep(0.1)
    return int(proc.popen.returncode)
