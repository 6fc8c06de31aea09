"""The stats store in Redis: a hash per tenant and minute, and per tenant and hour.

``{prefix}stats:{tenant}:<minute>`` holds the minute's counters (HINCRBY) and expires with
the retention; ``{prefix}stats:{tenant}:buckets`` lists the minutes that have counts (by
score). ``{prefix}stats:{tenant}:h<hour>`` and ``...:hours`` are the same per hour: the
rollup a long window reads (agent.runtime.stats_records). ``{prefix}stats:{tenant}:rollup``
holds the hour from which the tenant's hour buckets are complete: the first hour that
began after a process of this version first counted for the tenant (earlier hours, from
before the upgrade, are read minute by minute). ``{prefix}stats:tenants`` names the tenants
that have any. A row is counted by one script (a tenant's keys share its hash tag: one
Cluster slot), after the tenants' set names the tenant.
"""

import time
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stats_records import (
    BUCKET_S,
    HOUR_S,
    STATS_VERSION,
    Counts,
    StatsRow,
    bucket_of,
    hour_of,
    plan_window,
)
from agent.runtime.stores import RuntimeStoreError

# KEYS: the minute's hash, the minute index, the hour's hash, the hour index, the rollup
# key. ARGV: minute, hour, the minute's TTL, the hour's TTL, the indexes' TTL, the oldest
# minute and hour an index keeps, the rollup's first hour, the version, then field, count...
_COUNT = """
local function count(key, index, bucket, ttl, oldest)
  for i = 10, #ARGV, 2 do redis.call('hincrby', key, ARGV[i], ARGV[i + 1]) end
  redis.call('hset', key, 'v', ARGV[9])
  redis.call('expire', key, ttl)
  redis.call('zadd', index, bucket, bucket)
  redis.call('zremrangebyscore', index, '-inf', '(' .. oldest)
  redis.call('expire', index, ARGV[5])
end
count(KEYS[1], KEYS[2], ARGV[1], ARGV[3], ARGV[6])
count(KEYS[3], KEYS[4], ARGV[2], ARGV[4], ARGV[7])
redis.call('set', KEYS[5], ARGV[8], 'NX')
redis.call('expire', KEYS[5], ARGV[5])
return 1
"""
_MINUTES = "buckets"
_HOURS = "hours"
_ROLLUP_FROM = "rollup"
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
        self._count = client.register_script(_COUNT)

    async def add(self, rows: Sequence[StatsRow]) -> None:
        now = self._clock()
        calls = [call for row in rows if (call := self._count_call(row, now)) is not None]
        if not calls:
            return
        keep_s = int(self._retention_s) + HOUR_S
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(self._keys.stats_tenants(), *sorted({row.tenant for row in rows}))
        pipe.expire(self._keys.stats_tenants(), keep_s)
        try:
            await pipe.execute()  # first: a tenant listed with no counts yet reads as none
            for keys, args in calls:  # one at a time: a Cluster node's pool may be small
                await self._count(keys=keys, args=args)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to add stats: {error}") from None

    def _count_call(self, row: StatsRow, now: float) -> tuple[list[str], list[str | int]] | None:
        """The keys and arguments of ``_COUNT`` for ``row`` (None: nothing to count)."""
        oldest = bucket_of(now - self._retention_s)
        counts = [(name, count) for name, count in row.counts.items() if count]
        if bucket_of(row.at) < oldest or not counts:
            return None
        minute, hour = bucket_of(row.at), hour_of(row.at)
        parts = (str(minute), _MINUTES, f"h{hour}", _HOURS, _ROLLUP_FROM)
        args = [
            minute,
            hour,
            max(1, int(minute + BUCKET_S + self._retention_s - now)),  # kept while
            max(1, int(hour + HOUR_S + self._retention_s - now)),  # its last minute is
            int(self._retention_s) + HOUR_S,
            oldest - BUCKET_S,
            oldest - HOUR_S,
            hour_of(now) + HOUR_S,
            STATS_VERSION,
            *(value for pair in counts for value in pair),
        ]
        return [self._keys.stats(row.tenant, part) for part in parts], args

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
        return sorted(_text(m) for m in members)

    async def _bucket_keys(self, tenants: list[str], start: int, until: float) -> list[str]:
        """The keys of the minute and hour buckets that sum to the window, per tenant."""
        if not tenants:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for name in tenants:
            pipe.get(self._keys.stats(name, _ROLLUP_FROM))
        rollups = await pipe.execute()
        pipe = self._redis.pipeline(transaction=False)
        wanted: list[tuple[str, str]] = []  # (tenant, "" for minutes or "h" for hours)
        for name, rollup in zip(tenants, rollups, strict=True):
            # No rollup key: the tenant has no counts (or none since before the retention).
            plan = plan_window(start, until, int(rollup) if rollup is not None else 0)
            for low, high in plan.minutes:
                pipe.zrangebyscore(self._keys.stats(name, _MINUTES), low, f"({high}")
                wanted.append((name, ""))
            if plan.hours is not None:
                low, high = plan.hours
                pipe.zrangebyscore(self._keys.stats(name, _HOURS), low, f"({high}")
                wanted.append((name, "h"))
        found = await pipe.execute()
        return [
            self._keys.stats(name, f"{kind}{_text(bucket)}")
            for (name, kind), buckets in zip(wanted, found, strict=True)
            for bucket in buckets
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
