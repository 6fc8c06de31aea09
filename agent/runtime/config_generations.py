"""How many times each tenant's bot file was reloaded: the signal every process follows.

The admin API reloads a bot file in the process that answered, then bumps the tenant's
generation here. Every other process (API replicas, worker processes) polls the
generations and reloads a tenant's bot file from disk when its generation moves, so a
reload reaches the turns wherever they run. In-process for embedded mode (one process);
a Redis hash otherwise.
"""

from typing import Protocol

from redis.exceptions import RedisError

from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError


class ConfigGenerations(Protocol):
    async def bump(self, tenant: str) -> int:
        """The tenant's new generation (1 after its first reload)."""
        ...

    async def current(self) -> dict[str, int]:
        """Every reloaded tenant's generation (a tenant never reloaded is absent)."""
        ...


class MemoryConfigGenerations:
    def __init__(self) -> None:
        self._generations: dict[str, int] = {}

    async def bump(self, tenant: str) -> int:
        self._generations[tenant] = self._generations.get(tenant, 0) + 1
        return self._generations[tenant]

    async def current(self) -> dict[str, int]:
        return dict(self._generations)


class RedisConfigGenerations:
    """A hash, tenant → generation, without expiry (it is tiny and must outlive restarts)."""

    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        self._redis = client
        self._key = keys.admin("bot-generations")

    async def bump(self, tenant: str) -> int:
        try:
            return int(await self._redis.hincrby(self._key, tenant, 1))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed: {error}") from None

    async def current(self) -> dict[str, int]:
        try:
            raw = await self._redis.hgetall(self._key)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed: {error}") from None
        return {_text(tenant): int(value) for tenant, value in raw.items()}


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
