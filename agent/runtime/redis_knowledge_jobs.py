"""Knowledge jobs in Redis (standalone, Sentinel or Cluster).

Per job: a hash ``{kbjobs}:job:<id>`` with the record as JSON (``record``) and, beside it,
the fields the scripts check: ``state``, ``owner``, ``interrupted``, ``created_at`` and
``beat_at`` (a beat writes only that field; reads put it back into the record). A
finished job's hash expires ``retention_s`` after it finished. Indexes: sorted sets of job
ids scored by ``created_at``, one over all tenants and one per tenant; members whose hash
has expired are dropped when a listing meets them, or when a new job of their tenant
trims its index to the newest ``keep`` finished ones. Every key carries the ``{kbjobs}``
hash tag: one Cluster slot, so one script may check and write a job atomically.
"""

import json
import time
from typing import Any

from redis.exceptions import RedisError

from agent.runtime.knowledge_jobs import (
    KEPT_PER_TENANT,
    RETENTION_S,
    UNFINISHED,
    JobPage,
    KnowledgeJob,
    after,
    cursor_of,
    parse_cursor,
)
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError

_BATCH = 100

# KEYS: job, all, tenant. ARGV: id, created_at, record, state, owner, beat_at ('' = none).
_CREATE = """
redis.call('hset', KEYS[1], 'record', ARGV[3], 'state', ARGV[4], 'owner', ARGV[5],
           'interrupted', '0', 'created_at', ARGV[2])
if ARGV[6] ~= '' then redis.call('hset', KEYS[1], 'beat_at', ARGV[6]) end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
redis.call('zadd', KEYS[3], ARGV[2], ARGV[1])
return 1
"""

# Unfinished, or interrupted by a reader and this is its owner's final state (ARGV[6]).
# KEYS: job. ARGV: record, state, owner, interrupted, beat_at ('' = none), final,
# ttl ms ('' = keep; <= 0 = already expired).
_UPDATE = """
local cur = redis.call('hmget', KEYS[1], 'state', 'owner', 'interrupted')
if not cur[1] then return 0 end
local open = cur[1] == 'queued' or cur[1] == 'running'
local retake = ARGV[6] == '1' and cur[3] == '1' and cur[2] == ARGV[3]
if not (open or retake) then return 0 end
if ARGV[7] ~= '' and tonumber(ARGV[7]) <= 0 then
  redis.call('del', KEYS[1])
  return 1
end
redis.call('hset', KEYS[1], 'record', ARGV[1], 'state', ARGV[2], 'owner', ARGV[3],
           'interrupted', ARGV[4])
if ARGV[5] ~= '' then redis.call('hset', KEYS[1], 'beat_at', ARGV[5]) end
if ARGV[7] ~= '' then redis.call('pexpire', KEYS[1], ARGV[7]) end
return 1
"""

# KEYS: job. ARGV: record, stale before, ttl ms.
_INTERRUPT = """
local cur = redis.call('hmget', KEYS[1], 'state', 'beat_at', 'created_at')
if cur[1] ~= 'queued' and cur[1] ~= 'running' then return 0 end
local beat = tonumber(cur[2] or cur[3])
if beat >= tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[1], 'record', ARGV[1], 'state', 'failed', 'interrupted', '1')
redis.call('pexpire', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the jobs. ARGV: owner, at.
_BEAT = """
for _, key in ipairs(KEYS) do
  local cur = redis.call('hmget', key, 'state', 'owner')
  if (cur[1] == 'queued' or cur[1] == 'running') and cur[2] == ARGV[1] then
    redis.call('hset', key, 'beat_at', ARGV[2])
  end
end
return 1
"""


class RedisKnowledgeJobs:
    """``KnowledgeJobStore`` on Redis."""

    def __init__(
        self,
        client: AsyncRedis,
        keys: RedisKeys,
        retention_s: float = RETENTION_S,
        keep: int = KEPT_PER_TENANT,
    ) -> None:
        self._redis = client
        self._keys = keys
        self._retention_s = retention_s
        self._keep = keep
        self._create = client.register_script(_CREATE)
        self._update = client.register_script(_UPDATE)
        self._interrupt = client.register_script(_INTERRUPT)
        self._beat = client.register_script(_BEAT)

    async def create(self, job: KnowledgeJob) -> None:
        keys = [self._job(job.id), self._index(None), self._index(job.tenant)]
        args = [job.id, repr(job.created_at), _record(job), job.state, job.owner]
        await self._guard(self._create(keys=keys, args=[*args, _time(job.beat_at)]))
        await self._trim(job.tenant)

    async def update(self, job: KnowledgeJob) -> bool:
        args = [
            _record(job),
            job.state,
            job.owner,
            "1" if job.interrupted else "0",
            _time(job.beat_at),
            "1" if job.finished else "0",
            self._ttl_ms(job),
        ]
        return bool(await self._guard(self._update(keys=[self._job(job.id)], args=args)))

    async def beat(self, owner: str, job_ids: list[str], at: float) -> None:
        if job_ids:
            keys = [self._job(job_id) for job_id in job_ids]
            await self._guard(self._beat(keys=keys, args=[owner, repr(at)]))

    async def interrupt(self, job: KnowledgeJob, stale_before: float) -> bool:
        args = [_record(job), repr(stale_before), self._ttl_ms(job)]
        written = await self._guard(self._interrupt(keys=[self._job(job.id)], args=args))
        return bool(written)

    async def get(self, job_id: str) -> KnowledgeJob | None:
        return _job_from(await self._guard(self._redis.hgetall(self._job(job_id))))

    async def page(self, tenant: str | None, limit: int, cursor: str | None) -> JobPage:
        position = parse_cursor(cursor) if cursor is not None else None
        index = self._index(tenant)
        top: float | str = position[0] if position is not None else "+inf"
        items: list[KnowledgeJob] = []
        offset = 0
        while len(items) <= limit:
            rows: Any = await self._guard(
                self._redis.zrevrangebyscore(
                    index, top, "-inf", start=offset, num=_BATCH, withscores=True
                )
            )
            offset += len(rows)
            ids = [_text(member) for member, _ in rows]
            jobs = await self._load(ids, index)
            items += [job for job in jobs if job is not None and after(job, position)]
            if len(rows) < _BATCH:
                break
        page = items[:limit]
        more = len(items) > limit
        return JobPage(page, cursor_of(page[-1]) if more else None)

    async def _load(self, job_ids: list[str], index: str) -> list[KnowledgeJob | None]:
        """The jobs (None where expired: dropped from ``index``)."""
        if not job_ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(self._job(job_id))
        found = [_job_from(raw) for raw in await self._guard(pipe.execute())]
        gone = [job_id for job_id, job in zip(job_ids, found, strict=True) if job is None]
        if gone:
            await self._guard(self._redis.zrem(index, *gone))
        return found

    async def _trim(self, tenant: str) -> None:
        """Forget the tenant's finished jobs beyond the newest ``keep``."""
        index = self._index(tenant)
        older: Any = await self._guard(self._redis.zrevrange(index, self._keep, -1))
        ids = [_text(member) for member in older]
        if not ids:
            return
        pipe = self._redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(self._job(job_id), "state")
        states = await self._guard(pipe.execute())
        drop = [
            job_id
            for job_id, state in zip(ids, states, strict=True)
            if state is None or _text(state) not in UNFINISHED
        ]
        if drop:
            await self._guard(self._redis.delete(*(self._job(job_id) for job_id in drop)))
            await self._guard(self._redis.zrem(self._index(None), *drop))
            await self._guard(self._redis.zrem(index, *drop))

    def _ttl_ms(self, job: KnowledgeJob) -> str:
        """A finished job's time left (ms); '' while it is unfinished (kept)."""
        if not job.finished:
            return ""
        ends = (job.finished_at or time.time()) + self._retention_s
        return str(int((ends - time.time()) * 1000))

    def _job(self, job_id: str) -> str:
        return self._keys.knowledge_jobs(f"job:{job_id}")

    def _index(self, tenant: str | None) -> str:
        return self._keys.knowledge_jobs("all" if tenant is None else f"tenant:{tenant}")

    async def _guard(self, pending: Any) -> Any:
        try:
            return await pending
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed on a knowledge job: {error}") from None


def _job_from(raw: dict[Any, Any]) -> KnowledgeJob | None:
    if not raw:
        return None
    fields = {_text(k): _text(v) for k, v in raw.items()}
    data = json.loads(fields["record"])
    if "beat_at" in fields:
        data["beat_at"] = float(fields["beat_at"])
    return KnowledgeJob.from_dict(data)


def _record(job: KnowledgeJob) -> str:
    return json.dumps(job.to_dict(), ensure_ascii=False, separators=(",", ":"))


def _time(at: float | None) -> str:
    return "" if at is None else repr(at)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
