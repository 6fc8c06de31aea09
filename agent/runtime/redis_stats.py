"""The stats store in Redis: a hash per tenant and minute, indexed by a sorted set.

``{prefix}stats:{tenant}:<minute>`` holds the minute's counters (HINCRBY) and expires with
the retention; ``{prefix}stats:{tenant}:buckets`` lists the minutes that have counts (by
score); ``{prefix}stats:tenants`` names the tenants that have any. A write is one
pipeline; a tenant's keys share its hash tag (one Cluster slot).
"""

import time
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stats_records import BUCKET_S, STATS_VERSION, Counts, StatsRow, bucket_of
from agent.runtime.stores import RuntimeStoreError

_INDEX = "buckets"
_VERSION_FIELD = "v"


class RedisStats:
    def __init__(
        self,
        client: AsyncRedis,
        keys: RedisKeys,
        retention_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._retention_s = retention_s
        self._clock = clock

    async def add(self, rows: Sequence[StatsRow]) -> None:
        now = self._clock()
        oldest = bucket_of(now - self._retention_s)
        keep_s = int(self._retention_s) + BUCKET_S
        pipe = self._redis.pipeline(transaction=False)
        queued = False
        for row in rows:
            bucket = bucket_of(row.at)
            ttl_s = int(bucket + self._retention_s + BUCKET_S - now)
            counts = {name: count for name, count in row.counts.items() if count}
            if bucket < oldest or ttl_s <= 0 or not counts:
                continue
            key = self._keys.stats(row.tenant, str(bucket))
            for name, count in counts.items():
                pipe.hincrby(key, name, count)
            pipe.hset(key, _VERSION_FIELD, STATS_VERSION)
            pipe.expire(key, ttl_s)
            index = self._keys.stats(row.tenant, _INDEX)
            pipe.zadd(index, {str(bucket): bucket})
            pipe.zremrangebyscore(index, "-inf", f"({oldest}")
            pipe.expire(index, keep_s)
            pipe.sadd(self._keys.stats_tenants(), row.tenant)
            pipe.expire(self._keys.stats_tenants(), keep_s)
            queued = True
        if not queued:
            return
        try:
            await pipe.execute()
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to add stats: {error}") from None

    async def totals(self, since: float, until: float, tenant: str | None = None) -> Counts:
        start = max(bucket_of(since), bucket_of(self._clock() - self._retention_s))
        try:
            tenants = [tenant] if tenant is not None else await self._tenants()
            keys = await self._bucket_keys(tenants, start, until)
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(key)
            buckets = await pipe.execute() if keys else []
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read stats: {error}") from None
        totals: Counts = {}
        for bucket in buckets:
            for name, count in bucket.items():
                field = name.decode() if isinstance(name, bytes) else str(name)
                if field != _VERSION_FIELD:
                    totals[field] = totals.get(field, 0) + int(count)
        return totals

    async def _tenants(self) -> list[str]:
        members = await self._redis.smembers(self._keys.stats_tenants())
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)

    async def _bucket_keys(self, tenants: list[str], start: int, until: float) -> list[str]:
        pipe = self._redis.pipeline(transaction=False)
        for name in tenants:
            pipe.zrangebyscore(self._keys.stats(name, _INDEX), start, f"({until}")
        found = await pipe.execute() if tenants else []
        return [
            self._keys.stats(name, bucket.decode() if isinstance(bucket, bytes) else str(bucket))
            for name, buckets in zip(tenants, found, strict=True)
            for bucket in buckets
        ]
