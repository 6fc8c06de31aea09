"""In-process queue and locks for the embedded mode (one process, no Redis)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent.runtime.models import InboundMessage


class MemoryTurnQueue:
    """An asyncio queue. Messages in it are lost if the process dies (embedded mode only)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[InboundMessage] = asyncio.Queue()

    async def put(self, message: InboundMessage) -> None:
        await self._queue.put(message)

    async def take(self, timeout_s: float) -> InboundMessage | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return None

    async def ack(self, message: InboundMessage) -> None:
        self._queue.task_done()

    async def depth(self) -> int:
        return self._queue.qsize()


class MemoryLocks:
    """One asyncio lock per conversation, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, conversation_key: str, ttl_s: float) -> AsyncIterator[None]:
        lock = self._locks.setdefault(conversation_key, asyncio.Lock())
        self._users[conversation_key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[conversation_key] -= 1
            if self._users[conversation_key] == 0:
                del self._users[conversation_key]
                del self._locks[conversation_key]
