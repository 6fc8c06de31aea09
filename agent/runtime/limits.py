"""Per-tenant usage counters: turns started per minute and model tokens per UTC day.

One interface, an in-process implementation (embedded mode: one process) and a Redis
one (shared by every worker). Counters are fixed windows keyed by the minute or the day.
"""

import time
from typing import Protocol

from redis.exceptions import RedisError

from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError


class UsageMeter(Protocol):
    async def start_turn(self, tenant: str, per_minute: int | None) -> float:
        """Count a turn and return 0, or, when the minute's quota is spent, the seconds
        until the next minute (nothing counted)."""
        ...

    async def add_tokens(self, tenant: str, tokens: int) -> None: ...

    async def tokens_today(self, tenant: str) -> int: ...


def _minute(now: float) -> int:
    return int(now // 60)


def _day(now: float) -> int:
    return int(now // 86_400)


def _until_next_minute(now: float) -> float:
    return 60 - (now % 60)


class MemoryUsageMeter:
    def __init__(self) -> None:
        self._turns: dict[tuple[str, int], int] = {}
        self._tokens: dict[tuple[str, int], int] = {}

    async def start_turn(self, tenant: str, per_minute: int | None) -> float:
        now = time.time()
        window = (tenant, _minute(now))
        if per_minute is not None and self._turns.get(window, 0) >= per_minute:
            return _until_next_minute(now)
        self._turns = {k: v for k, v in self._turns.items() if k[1] >= window[1] - 1}
        self._turns[window] = self._turns.get(window, 0) + 1
        return 0.0

    async def add_tokens(self, tenant: str, tokens: int) -> None:
        window = (tenant, _day(time.time()))
        self._tokens[window] = self._tokens.get(window, 0) + tokens

    async def tokens_today(self, tenant: str) -> int:
        return self._tokens.get((tenant, _day(time.time())), 0)


_TAKE_TURN = """
local used = tonumber(redis.call('get', KEYS[1]) or '0')
if ARGV[1] ~= '' and used >= tonumber(ARGV[1]) then return 0 end
redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], 120)
return 1
"""


_ADD_TOKENS = """
redis.call('incrby', KEYS[1], ARGV[1])
redis.call('expire', KEYS[1], 172800)
return 1
"""


class RedisUsageMeter:
    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys
        self._take_turn = client.register_script(_TAKE_TURN)
        self._add_tokens = client.register_script(_ADD_TOKENS)

    async def start_turn(self, tenant: str, per_minute: int | None) -> float:
        now = time.time()
        key = self._keys.rate(tenant, f"turns:{_minute(now)}")
        limit = "" if per_minute is None else str(per_minute)
        try:
            allowed = await self._take_turn(keys=[key], args=[limit])
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to count a turn: {error}") from None
        return 0.0 if allowed else _until_next_minute(now)

    async def add_tokens(self, tenant: str, tokens: int) -> None:
        key = self._keys.rate(tenant, f"tokens:{_day(time.time())}")
        try:
            await self._add_tokens(keys=[key], args=[tokens])
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to count model tokens: {error}") from None

    async def tokens_today(self, tenant: str) -> int:
        key = self._keys.rate(tenant, f"tokens:{_day(time.time())}")
        try:
            raw = await self._redis.get(key)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read model tokens: {error}") from None
        return int(raw or 0)
