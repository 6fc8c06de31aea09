"""Workers: take a message, hold its conversation, run the turn, acknowledge."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agent.runtime.models import InboundMessage
from agent.runtime.stores import ConversationLocks, TurnQueue

log = logging.getLogger(__name__)

Handler = Callable[[InboundMessage], Awaitable[None]]


class Worker:
    def __init__(
        self,
        queue: TurnQueue,
        locks: ConversationLocks,
        handler: Handler,
        lock_ttl_s: float,
        poll_s: float = 1.0,
    ) -> None:
        self._queue = queue
        self._locks = locks
        self._handler = handler
        self._lock_ttl_s = lock_ttl_s
        self._poll_s = poll_s

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; a turn in progress is finished first."""
        while not stop.is_set():
            try:
                message = await self._queue.take(self._poll_s)
            except Exception:
                log.exception("could not take from the queue; retrying")
                await asyncio.sleep(self._poll_s)
                continue
            if message is not None:
                await self.process(message)

    async def process(self, message: InboundMessage) -> None:
        try:
            async with self._locks.hold(message.conversation_key, self._lock_ttl_s):
                await self._handler(message)
        except Exception:
            # Not acknowledged: with Redis the message stays in the processing list.
            log.exception(
                "turn failed before completion", extra={"conversation": message.conversation_key}
            )
            return
        await self._queue.ack(message)


async def run_workers(count: int, make_worker: Callable[[], Worker], stop: asyncio.Event) -> None:
    await asyncio.gather(*(make_worker().run(stop) for _ in range(count)))
