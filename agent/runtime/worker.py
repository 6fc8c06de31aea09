"""Workers: claim a ready conversation, run its turn under a renewed lease, release it.

One ``WorkerPool`` per process runs up to ``concurrency`` turns at once, and beats a
heartbeat: a pool that stops beating (its process was killed) loses its conversations to
the next claim at once, not when their leases end. A turn whose
lease cannot be renewed (another worker took the conversation over) is cancelled: its
fence is stale, so it could not commit anyway. A watchdog gives customers whose
messages waited too long a holding reply.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from agent.runtime.models import Claim
from agent.runtime.stores import Mailboxes, StaleClaim

log = logging.getLogger(__name__)

TurnHandler = Callable[[Claim], Coroutine[Any, Any, float]]
HoldHandler = Callable[[Claim], Coroutine[Any, Any, None]]
Handler = Callable[[Claim], Coroutine[Any, Any, object]]


@dataclass(frozen=True)
class PoolConfig:
    concurrency: int
    lease_s: float
    coalesce_limit: int = 20  # messages folded into one turn at most
    idle_wait_s: float = 1.0
    retry_delay_s: float = 2.0  # after a turn failed with an error
    max_message_age_s: float = 120.0
    watchdog_every_s: float = 5.0
    heartbeat_s: float = 2.0  # a pool silent this long is dead: its conversations are taken over


class WorkerPool:
    def __init__(
        self,
        mailboxes: Mailboxes,
        handle: TurnHandler,
        hold: HoldHandler,
        config: PoolConfig,
        holder: str | None = None,
    ) -> None:
        """``holder`` names the pool in leases (default: a fresh name, see ``holder_id``)."""
        self._mailboxes = mailboxes
        self._handle = handle
        self._hold = hold
        self._config = config
        self._slots = asyncio.Semaphore(config.concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self.holder = holder or holder_id()

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; turns in progress are finished first."""
        await self._beat_once()
        watchdog = asyncio.create_task(self._watch(stop))
        beat = asyncio.create_task(self._beat())
        try:
            while not stop.is_set():
                await self._slots.acquire()
                claim = await self._next_claim(stop)
                if claim is None:
                    self._slots.release()
                    continue
                self._start(claim)
        finally:
            watchdog.cancel()
            try:
                await asyncio.gather(watchdog, *self._running, return_exceptions=True)
            finally:  # even when the pool itself is cancelled (the process is going away)
                beat.cancel()

    async def _next_claim(self, stop: asyncio.Event) -> Claim | None:
        config = self._config
        try:
            claim = await self._mailboxes.claim(config.lease_s, config.coalesce_limit, self.holder)
            if claim is None and not stop.is_set():
                await self._mailboxes.wait(config.idle_wait_s)
            return claim
        except Exception:
            log.exception("could not claim a conversation; retrying")
            await asyncio.sleep(config.idle_wait_s)
            return None

    def _start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._serve(claim, self._handle))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._running.discard(task)
        self._slots.release()

    async def _serve(self, claim: Claim, handler: Handler) -> None:
        delay_s = 0.0
        try:
            result = await self._with_lease(claim, handler)
            delay_s = float(result) if isinstance(result, int | float) else 0.0
        except StaleClaim:
            log.warning(
                "lost the conversation to another worker; turn dropped",
                extra={"conversation": claim.conversation_key},
            )
            return
        except Exception:
            log.exception(
                "turn failed; it will be retried", extra={"conversation": claim.conversation_key}
            )
            delay_s = self._config.retry_delay_s
        try:
            await self._mailboxes.release(claim, delay_s)
        except Exception:
            log.exception("could not release a conversation; its lease will expire")

    async def _with_lease(self, claim: Claim, handler: Handler) -> object:
        """Run the handler while renewing the lease; cancel it if the lease is lost.

        The keeper stops on an event, not by cancellation: on Python 3.11 a cancel that
        lands while a Redis command completes can be swallowed (``asyncio.wait_for``), and a
        keeper that missed it would renew the lease, and hold the conversation, forever.
        """
        turn = asyncio.create_task(handler(claim))
        finished = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(claim, turn, finished))
        try:
            return await turn
        except asyncio.CancelledError:
            lost = keeper.exception() if keeper.done() and not keeper.cancelled() else None
            if isinstance(lost, StaleClaim):
                raise lost from None
            raise
        finally:
            finished.set()
            with contextlib.suppress(StaleClaim):
                await keeper

    async def _keep_lease(
        self, claim: Claim, turn: "asyncio.Task[object]", finished: asyncio.Event
    ) -> None:
        interval = self._config.lease_s / 3
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), interval)
            if finished.is_set() or turn.done():
                return
            try:
                await self._mailboxes.renew(claim, self._config.lease_s)
            except StaleClaim:
                turn.cancel()
                raise
            except Exception:
                log.exception("could not renew a lease; trying again")

    async def _beat(self) -> None:
        """Vouch for this pool four times per heartbeat until the last turn is done (so
        that a stopping pool keeps its conversations); the store makes dead pools'
        conversations ready as it records the beat."""
        while True:
            await asyncio.sleep(self._config.heartbeat_s / 4)
            await self._beat_once()

    async def _beat_once(self) -> None:
        try:
            await self._mailboxes.heartbeat(self.holder, self._config.heartbeat_s)
        except Exception:
            log.exception("could not send the worker heartbeat; trying again")

    async def _watch(self, stop: asyncio.Event) -> None:
        """Give a holding reply to conversations whose oldest message waited too long."""
        config = self._config
        while not stop.is_set():
            await asyncio.sleep(config.watchdog_every_s)
            try:
                for key in await self._mailboxes.overdue(config.max_message_age_s):
                    claim = await self._mailboxes.claim_key(key, config.lease_s, 1, self.holder)
                    if claim is not None:
                        await self._serve(claim, self._hold)
            except Exception:
                log.exception("the overdue-message watchdog failed; trying again")


def holder_id() -> str:
    """A name in leases for a pool of this process."""
    return holder_name(os.getpid())


def holder_name(pid: int, nonce: str | None = None) -> str:
    """A pool's name in leases: host, process and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{pid}:{nonce or uuid.uuid4().hex[:8]}"


async def declare_dead(mailboxes: Mailboxes, holder: str) -> None:
    """``holder`` is known to be dead (its supervisor reaped its process): a heartbeat
    that vouches for no time at all makes its conversations ready for a take-over now,
    instead of when its last heartbeat lapses."""
    await mailboxes.heartbeat(holder, 0.0)
