"""A pre-forking supervisor: worker processes that are back within a fraction of a second.

The parent imports and loads everything once (``agent.runtime.preload``), then forks
``processes`` children, each running ``child_main``. When a child dies (killed, crashed)
the parent reaps it at once and forks a replacement, which starts with everything
already in memory instead of paying for Python's imports and the embedding model again.
The replacement is told which holder it replaces (``ChildStart.predecessor``): that
process is dead for certain (it was reaped), so its conversations can be taken over now,
without waiting for its heartbeat to lapse.

Copy-on-write: what the parent holds when it forks is moved out of the garbage
collector's reach (``gc.freeze``), so a child's full collection neither walks nor writes
to it (it took 0.3 s of a fresh child's CPU, its event loop stalled, and copied 150 MB of
shared pages, with the embedding model loaded).

Fork-safety: the parent runs no event loop, opens no connection and starts no thread; it
refuses to fork when some library did start one. Children restore the parent's signal mask
and die with it (``PR_SET_PDEATHSIG`` on Linux).

A child that exits by itself shortly after it started (a configuration error, Redis
unreachable) is replaced after a pause that doubles each time, up to ``max_backoff_s``,
so that a broken set-up does not fork in a loop; a child killed by a signal is replaced at
once. SIGTERM or SIGINT stop the supervisor: children get SIGTERM and finish their turns,
those still running after ``stop_grace_s`` get SIGKILL; a second signal kills them now.

A ``Service`` (the model-call gateway) is one more child, forked before the workers,
replaced like them when it dies, and stopped after them (their last turns use it). It is
not a worker: no slot, no holder.
"""

import contextlib
import gc
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from agent.errors import DeskhandError
from agent.runtime.worker import holder_name

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
WATCHED = {signal.SIGCHLD, *STOP_SIGNALS}
PR_SET_PDEATHSIG = 1


class SupervisorError(DeskhandError):
    """The supervisor cannot fork its workers safely."""


@dataclass(frozen=True)
class ChildStart:
    """What a forked worker process is told."""

    slot: int  # 0 .. processes - 1
    holder: str  # its name in leases and heartbeats
    predecessor: str | None  # the holder of the dead process it replaces, if any


ChildMain = Callable[[ChildStart], int]  # runs in the child; its exit status
SERVICE_STOP_S = 5.0  # a service's grace after the workers stopped


@dataclass(frozen=True)
class Service:
    """A process the workers depend on, run by the supervisor beside them."""

    name: str  # in the supervisor's lines: "model gateway"
    main: Callable[[], int]  # runs in the child; its exit status


@dataclass(frozen=True)
class Child:
    slot: int
    pid: int
    holder: str
    started: float


SERVICE_SLOT = -1  # the slot of the service's Child and _Pending


@dataclass(frozen=True)
class _Pending:
    due: float
    slot: int  # SERVICE_SLOT: the service
    predecessor: str | None


class Supervisor:
    """Keeps ``processes`` forked children running ``child_main`` until told to stop."""

    def __init__(
        self,
        processes: int,
        child_main: ChildMain,
        stop_grace_s: float,
        healthy_after_s: float = 10.0,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        announce: Callable[[str], None] | None = None,
        service: Service | None = None,
    ) -> None:
        if processes < 1:
            raise ValueError("a supervisor needs at least one process")
        self._processes = processes
        self._child_main = child_main
        self._stop_grace_s = stop_grace_s
        self._healthy_after_s = healthy_after_s
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._announce = announce or (lambda line: log.info(line))
        self.children: dict[int, Child] = {}  # the worker processes, by pid
        self.service = service
        self.service_child: Child | None = None
        self._pending: list[_Pending] = []
        self._early_exits = 0
        self._service_early_exits = 0
        self._parent_mask: set[signal.Signals | int] = set()

    def run(self) -> int:
        """Fork the children and keep them running; 0 once stopped by SIGTERM or SIGINT."""
        _check_single_threaded()
        self._parent_mask = signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
        gc.collect()  # the garbage of the start-up, once, before the rest is frozen
        try:
            if self.service is not None:
                self._fork_service()
            for slot in range(self._processes):
                self._fork(slot, None)
            while True:
                received = signal.sigtimedwait(WATCHED, self._wait_s())
                if received is not None and received.si_signo in STOP_SIGNALS:
                    break
                self._reap()
                self._start_due()
            self._stop()
            return 0
        finally:
            self._kill_all()
            signal.pthread_sigmask(signal.SIG_SETMASK, self._parent_mask)

    # --- children --------------------------------------------------------------------

    def _fork(self, slot: int, predecessor: str | None) -> None:
        nonce = uuid.uuid4().hex[:8]
        parent = os.getpid()
        _before_fork()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            self._in_child(ChildStart(slot, holder_name(os.getpid(), nonce), predecessor), parent)
        self.children[pid] = Child(slot, pid, holder_name(pid, nonce), time.monotonic())

    def _fork_service(self) -> None:
        assert self.service is not None
        parent = os.getpid()
        _before_fork()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            self._in_child(None, parent)
        self.service_child = Child(SERVICE_SLOT, pid, "", time.monotonic())

    def _in_child(self, start: ChildStart | None, parent: int) -> NoReturn:
        def main() -> int:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._parent_mask)
            _die_with(parent)
            if start is None:
                assert self.service is not None
                return self.service.main()
            return self._child_main(start)

        exit_child(main)

    def _has_children(self) -> bool:
        return bool(self.children) or self.service_child is not None

    def _reap(self) -> None:
        """Collect every child that ended; schedule its replacement."""
        while self._has_children():
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            if self.service_child is not None and pid == self.service_child.pid:
                self._replace_service(self.service_child, status)
                self.service_child = None
                continue
            child = self.children.pop(pid, None)
            if child is not None:
                self._replace(child, status)

    def _replace(self, child: Child, status: int) -> None:
        lived_s = time.monotonic() - child.started
        self._early_exits, delay_s = self._restart_delay(status, lived_s, self._early_exits)
        self._announce(
            f"worker process {child.pid} (slot {child.slot}) {_describe(status)} after "
            f"{lived_s:.1f} s; "
            + ("replacing it now" if delay_s == 0 else f"replacing it in {delay_s:g} s")
        )
        self._pending.append(_Pending(time.monotonic() + delay_s, child.slot, child.holder))

    def _replace_service(self, child: Child, status: int) -> None:
        assert self.service is not None
        lived_s = time.monotonic() - child.started
        early = self._service_early_exits
        self._service_early_exits, delay_s = self._restart_delay(status, lived_s, early)
        self._announce(
            f"{self.service.name} process {child.pid} {_describe(status)} after "
            f"{lived_s:.1f} s; "
            + ("replacing it now" if delay_s == 0 else f"replacing it in {delay_s:g} s")
        )
        self._pending.append(_Pending(time.monotonic() + delay_s, SERVICE_SLOT, None))

    def _restart_delay(self, status: int, lived_s: float, early_exits: int) -> tuple[int, float]:
        """(early exits in a row, pause before the replacement): none after a signal or a
        healthy life, else doubling from ``min_backoff_s`` up to ``max_backoff_s``."""
        if os.WIFSIGNALED(status) or lived_s >= self._healthy_after_s:
            return 0, 0.0
        early_exits += 1
        return early_exits, min(self._max_backoff_s, self._min_backoff_s * 2 ** (early_exits - 1))

    def _start_due(self) -> None:
        now = time.monotonic()
        due = [p for p in self._pending if p.due <= now]
        self._pending = [p for p in self._pending if p.due > now]
        for pending in sorted(due, key=lambda p: p.slot):  # the service first
            if pending.slot == SERVICE_SLOT:
                self._fork_service()
            else:
                self._fork(pending.slot, pending.predecessor)

    def _wait_s(self) -> float:
        if not self._pending:
            return 1.0
        return max(0.0, min(1.0, min(p.due for p in self._pending) - time.monotonic()))

    # --- stopping ----------------------------------------------------------------------

    def _stop(self) -> None:
        """SIGTERM every worker (they finish their turns), then the service; SIGKILL after
        the grace period or at a second stop signal."""
        self._pending.clear()
        self._signal_all(signal.SIGTERM)
        if not self._wait_for(lambda: bool(self.children), self._stop_grace_s):
            return
        if self.service_child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.service_child.pid, signal.SIGTERM)
            self._wait_for(self._has_children, SERVICE_STOP_S)

    def _wait_for(self, running: Callable[[], bool], grace_s: float) -> bool:
        """Reap children while ``running()`` holds, up to ``grace_s``; False when the time
        ran out or a second stop signal came."""
        deadline = time.monotonic() + grace_s
        while running():
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                return False
            received = signal.sigtimedwait(WATCHED, min(left_s, 1.0))
            if received is not None and received.si_signo in STOP_SIGNALS:
                return False
            self._reap_quietly()
        return True

    def _kill_all(self) -> None:
        if not self._has_children():
            return
        self._signal_all(signal.SIGKILL)
        pids = list(self.children)
        if self.service_child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.service_child.pid, signal.SIGKILL)
            pids.append(self.service_child.pid)
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.children.clear()
        self.service_child = None

    def _reap_quietly(self) -> None:
        while self._has_children():
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            self.children.pop(pid, None)
            if self.service_child is not None and pid == self.service_child.pid:
                self.service_child = None

    def _signal_all(self, signum: signal.Signals) -> None:
        """Signal the worker processes (not the service)."""
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


def run_in_child(task: Callable[[], object]) -> int:
    """Run ``task`` in a forked process and return its exit status: for work that leaves
    threads behind (a Chroma client does), which a supervisor about to fork must not run."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:

        def main() -> int:
            task()
            return 0

        exit_child(main)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def exit_child(main: Callable[[], int]) -> NoReturn:
    """A forked child's end: ``main``'s status (1 when it raised), with ``os._exit`` so
    nothing the parent set up (atexit handlers, buffered files) runs twice."""
    code = 1
    try:
        code = main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def can_fork() -> bool:
    """Whether this platform can run the supervisor (fork and sigtimedwait: Unix)."""
    return hasattr(os, "fork") and hasattr(signal, "sigtimedwait")


def _before_fork() -> None:
    """Flush the output (a child would write it again) and freeze the parent's objects:
    the children share them copy-on-write, and a collection would copy every page."""
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()


def _check_single_threaded() -> None:
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if others:
        raise SupervisorError(
            f"cannot fork worker processes safely: threads are running ({', '.join(others)})"
        )


def _die_with(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when the supervisor dies (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
    if os.getppid() != parent:  # the supervisor died before the request took effect
        os._exit(1)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(signum).name}"
        return f"was killed by signal {signum}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
