"""Redis implementations of the runtime stores (plain commands, no modules).

Keys live under the configured prefix (``deskhand:`` by default). Per-conversation
keys carry the conversation key as a ``{hash tag}`` so Redis Cluster keeps a
conversation's keys on one slot.
"""

import json
from typing import Any

from redis.exceptions import RedisError

from agent.runtime.models import ConversationState, TranscriptEntry
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError


class _RedisStore:
    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys


# KEYS: the conversation's state, its transcript. ARGV: the first position to read.
_READ = """
return {redis.call('get', KEYS[1]) or '', redis.call('lrange', KEYS[2], ARGV[1], -1)}
"""


class RedisTranscripts(_RedisStore):
    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        super().__init__(client, keys)
        self._read = client.register_script(_READ)

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

    async def read(
        self, conversation_key: str, after: int = -1
    ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        """Both in one script (the conversation's keys share a Cluster slot)."""
        keys = [self._keys.state(conversation_key), self._keys.transcript(conversation_key)]
        try:
            raw_state, raw_entries = await self._read(keys=keys, args=[after + 1])
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read a conversation: {error}") from None
        state = ConversationState.from_dict(json.loads(raw_state)) if raw_state else None
        return state, [TranscriptEntry.from_dict(json.loads(item)) for item in raw_entries]

    async def save_state(self, state: ConversationState) -> None:
        try:
            await self._redis.set(self._keys.state(state.key), _dump(state.to_dict()))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to save a conversation: {error}") from None


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
