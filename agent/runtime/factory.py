"""Open the runtime stores the settings ask for: embedded (SQLite, in-process) or Redis."""

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent.config.settings import Settings
from agent.errors import DependencyUnavailable
from agent.runtime.memory import MemoryLocks, MemoryTurnQueue
from agent.runtime.redis_stores import (
    RedisDedupe,
    RedisKeys,
    RedisLocks,
    RedisTranscripts,
    RedisTurnQueue,
)
from agent.runtime.sqlite import SqliteDatabase, SqliteDedupe, SqliteTranscripts
from agent.runtime.stores import ConversationLocks, DedupeStore, TranscriptStore, TurnQueue


@dataclass
class Runtime:
    """The stores a process works with, whatever backs them."""

    mode: str
    transcripts: TranscriptStore
    dedupe: DedupeStore
    queue: TurnQueue
    locks: ConversationLocks
    _closers: list[Any] = field(default_factory=list)
    _pingers: list[Any] = field(default_factory=list)

    async def ping(self) -> None:
        """Raise DependencyUnavailable if a backing store cannot be used."""
        for pinger in self._pingers:
            await pinger()

    async def close(self) -> None:
        for closer in self._closers:
            await closer()


async def open_runtime(settings: Settings) -> Runtime:
    if settings.redis_url:
        return await _open_redis(
            settings.redis_url, settings.redis_prefix, settings.redis_timeout_s
        )
    return await _open_embedded(settings)


async def _open_embedded(settings: Settings) -> Runtime:
    database = await SqliteDatabase.open(settings.sqlite_path)
    return Runtime(
        mode="embedded",
        transcripts=SqliteTranscripts(database),
        dedupe=SqliteDedupe(database),
        queue=MemoryTurnQueue(),
        locks=MemoryLocks(),
        _closers=[database.close],
        _pingers=[database.ping],
    )


async def _open_redis(url: str, prefix: str, timeout_s: float) -> Runtime:
    client = redis_client(url, timeout_s)
    await ping_redis(client, url)
    keys = RedisKeys(prefix)

    async def ping() -> None:
        await ping_redis(client, url)

    return Runtime(
        mode="redis",
        transcripts=RedisTranscripts(client, keys),
        dedupe=RedisDedupe(client, keys),
        queue=RedisTurnQueue(client, keys),
        locks=RedisLocks(client, keys),
        _closers=[client.aclose],
        _pingers=[ping],
    )


def redis_client(url: str, timeout_s: float) -> Redis:
    # Blocking reads (BLMOVE) pass their own timeout; socket_timeout bounds everything else.
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s + 30,
        health_check_interval=30,
    )


async def ping_redis(client: Redis, url: str) -> None:
    try:
        await client.ping()
    except (RedisError, OSError) as error:
        raise DependencyUnavailable(
            f"Redis at {redact_url(url)} cannot be reached: {error}"
        ) from None


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
