"""Redis implementations of the runtime stores (plain commands, no modules).

Keys live under the configured prefix (``deskhand:`` by default). Per-conversation
keys carry the conversation key as a ``{hash tag}`` so Redis Cluster keeps a
conversation's keys on one slot.
"""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.runtime.models import ConversationState, InboundMessage, TranscriptEntry
from agent.runtime.stores import LockLost, RuntimeStoreError

_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def transcript(self, conversation_key: str) -> str:
        return f"{self.prefix}conv:{{{conversation_key}}}:transcript"

    def state(self, conversation_key: str) -> str:
        return f"{self.prefix}conv:{{{conversation_key}}}:state"

    def lock(self, conversation_key: str) -> str:
        return f"{self.prefix}conv:{{{conversation_key}}}:lock"

    def dedupe(self, key: str) -> str:
        return f"{self.prefix}dedupe:{key}"

    @property
    def queue(self) -> str:
        return f"{self.prefix}{{queue}}:turns"

    @property
    def processing(self) -> str:
        return f"{self.prefix}{{queue}}:processing"


class _RedisStore:
    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys


class RedisTranscripts(_RedisStore):
    async def append(self, conversation_key: str, entry: TranscriptEntry) -> int:
        try:
            length = await self._redis.rpush(
                self._keys.transcript(conversation_key), _dump(entry.to_dict())
            )
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to append to a transcript: {error}") from None
        return int(length) - 1

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        try:
            raw = await self._redis.lrange(self._keys.transcript(conversation_key), after + 1, -1)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read a transcript: {error}") from None
        return [TranscriptEntry.from_dict(json.loads(item)) for item in raw]

    async def state(self, conversation_key: str) -> ConversationState | None:
        try:
            raw = await self._redis.get(self._keys.state(conversation_key))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read a conversation: {error}") from None
        return ConversationState.from_dict(json.loads(raw)) if raw else None

    async def save_state(self, state: ConversationState) -> None:
        try:
            await self._redis.set(self._keys.state(state.key), _dump(state.to_dict()))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to save a conversation: {error}") from None


class RedisDedupe(_RedisStore):
    async def claim(self, key: str, ttl_s: int) -> bool:
        try:
            return bool(await self._redis.set(self._keys.dedupe(key), b"1", nx=True, ex=ttl_s))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to record a delivery id: {error}") from None

    async def release(self, key: str) -> None:
        try:
            await self._redis.delete(self._keys.dedupe(key))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to forget a delivery id: {error}") from None


class RedisTurnQueue(_RedisStore):
    """A reliable list queue: taken messages move to a processing list until acknowledged.

    Re-delivering what a dead worker left in the processing list is the Runtime issue's
    visibility timeout; nothing is lost meanwhile, it stays in that list.
    """

    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        super().__init__(client, keys)
        self._taken: dict[tuple[str, str], str] = {}

    async def put(self, message: InboundMessage) -> None:
        try:
            await self._redis.lpush(self._keys.queue, _dump(message.to_dict()))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to enqueue a message: {error}") from None

    async def take(self, timeout_s: float) -> InboundMessage | None:
        try:
            # BLMOVE takes a decimal timeout (Redis >= 6); the stubs say int.
            raw = await self._redis.blmove(
                self._keys.queue,
                self._keys.processing,
                timeout_s,  # type: ignore[arg-type]
                "RIGHT",
                "LEFT",
            )
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to take a message: {error}") from None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        message = InboundMessage.from_dict(json.loads(text))
        self._taken[_identity(message)] = text
        return message

    async def ack(self, message: InboundMessage) -> None:
        raw = self._taken.pop(_identity(message), None)
        if raw is None:
            return
        try:
            await self._redis.lrem(self._keys.processing, 1, raw)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to acknowledge a message: {error}") from None

    async def depth(self) -> int:
        try:
            return int(await self._redis.llen(self._keys.queue))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read the queue depth: {error}") from None


class RedisLocks(_RedisStore):
    """``SET NX PX`` with a random token; released only by its holder (a Lua check-and-delete)."""

    def __init__(self, client: Redis, keys: RedisKeys, poll_s: float = 0.05) -> None:
        super().__init__(client, keys)
        self._poll_s = poll_s

    @asynccontextmanager
    async def hold(self, conversation_key: str, ttl_s: float) -> AsyncIterator[None]:
        key = self._keys.lock(conversation_key)
        token = secrets.token_hex(16)
        await self._acquire(key, token, ttl_s)
        try:
            yield
        finally:
            await self._release(key, token)

    async def _acquire(self, key: str, token: str, ttl_s: float) -> None:
        ttl_ms = max(1, int(ttl_s * 1000))
        while True:
            try:
                if await self._redis.set(key, token, nx=True, px=ttl_ms):
                    return
            except RedisError as error:
                raise RuntimeStoreError(f"Redis failed to take a lock: {error}") from None
            await asyncio.sleep(self._poll_s)

    async def _release(self, key: str, token: str) -> None:
        try:
            released = await self._redis.eval(_RELEASE_LOCK, 1, key, token)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to release a lock: {error}") from None
        if not released:
            raise LockLost(f"lock {key} expired before its turn ended")


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _identity(message: InboundMessage) -> tuple[str, str]:
    return (message.conversation_key, message.message_id)
