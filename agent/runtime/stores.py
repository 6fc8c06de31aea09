"""The interfaces every runtime backend implements. Contract tests: tests/contracts/."""

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from agent.errors import DeskhandError
from agent.runtime.models import ConversationState, InboundMessage, TranscriptEntry


class RuntimeStoreError(DeskhandError):
    """A runtime store failed (Redis down, SQLite locked...)."""


class LockLost(RuntimeStoreError):
    """A conversation lock expired or was taken by someone else before it was released."""


class DedupeStore(Protocol):
    async def claim(self, key: str, ttl_s: int) -> bool:
        """True the first time ``key`` is seen within ``ttl_s``; False for a repeat."""
        ...

    async def release(self, key: str) -> None:
        """Forget ``key`` (used when accepting a delivery failed after it was claimed)."""
        ...


class TranscriptStore(Protocol):
    async def append(self, conversation_key: str, entry: TranscriptEntry) -> int:
        """Append and return the entry's position (0-based)."""
        ...

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        """Entries whose position is greater than ``after``, oldest first."""
        ...

    async def state(self, conversation_key: str) -> ConversationState | None: ...

    async def save_state(self, state: ConversationState) -> None: ...


class TurnQueue(Protocol):
    async def put(self, message: InboundMessage) -> None:
        """Returns only once the message is durably queued (for Redis: confirmed)."""
        ...

    async def take(self, timeout_s: float) -> InboundMessage | None:
        """The next message, or None after ``timeout_s`` with nothing to do."""
        ...

    async def ack(self, message: InboundMessage) -> None:
        """The message's turn is complete; it will not be handed out again."""
        ...

    async def depth(self) -> int: ...


class ConversationLocks(Protocol):
    def hold(self, conversation_key: str, ttl_s: float) -> AbstractAsyncContextManager[None]:
        """Hold the conversation exclusively: one turn at a time per conversation."""
        ...


class Closeable(Protocol):
    async def close(self) -> None: ...
