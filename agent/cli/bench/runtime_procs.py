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
WORKER_READY = "deskhand worker:"
STOP_GRACE_S = 10.0
# DESKHAND_* variables of the caller's environment that still apply (the embedding model,
# per-step checkpoints).
PASSED_SETTINGS = (
    "DESKHAND_EMBEDDING_MODEL",
    "DESKHAND_EMBEDDING_DEVICE",
    "DESKHAND_EMBEDDING_BACKEND",
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
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks * 1000.0 / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=STOP_GRACE_S)


class CpuMeter:
    """CPU of the counted processes from the start of the clock (or their own start)."""

    def __init__(self) -> None:
        self._base: dict[int, float] = {}
        self._done: set[int] = set()
        self.total_ms = 0.0
        self.readable = True

    def start(self, procs: list[Proc]) -> None:
        for proc in procs:
            self._base[proc.pid] = self._read(proc)

    def finish(self, proc: Proc) -> None:
        """Count what ``proc`` used since the clock started; call it right before it ends."""
        if proc.pid in self._done:
            return
        self._done.add(proc.pid)
        self.total_ms += self._read(proc) - self._base.get(proc.pid, 0.0)

    def _read(self, proc: Proc) -> float:
        value = proc.cpu_ms()
        if value is None:
            self.readable = False
            return 0.0
        return value


@dataclass
class Restart:
    slot: int
    proc: Proc
    up_s: float | None = None


class Stack:
    """Starts the bench's processes and stops every one of them on the way out."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: list[Proc] = []
        self.workers: list[Proc] = []
        self.api: Proc | None = None
        self.cpu = CpuMeter()
        self.restarts: list[Restart] = []
        self._generation = 0

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

    def spawn_worker(self, slot: int) -> Proc:
        self._generation += 1
        proc = self.spawn(f"worker-{slot}-{self._generation}", deskhand_command("worker"))
        if slot < len(self.workers):
            self.workers[slot] = proc
        else:
            self.workers.append(proc)
        return proc

    def counted(self) -> list[Proc]:
        """The processes whose CPU counts: the API and the live workers."""
        return [p for p in [self.api, *self.workers] if p is not None and p.alive()]

    def kill_worker(self, slot: int) -> Restart:
        """SIGKILL the worker in ``slot`` (its CPU counted first) and start another."""
        old = self.workers[slot]
        self.cpu.finish(old)
        old.kill()
        restart = Restart(slot, self.spawn_worker(slot))
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


async def worker_started(proc: Proc) -> bool:
    return WORKER_READY in proc.log_text()
