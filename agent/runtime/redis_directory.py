"""The conversation directory on Redis.

Per conversation: ``conv:{key}:summary``, the summary as JSON, on the conversation's slot,
expiring with the conversation's other keys (the retention). Indexes, on the
``{directory}`` slot: sorted sets of conversation keys scored by updated time, one over all
tenants and one per tenant, each also split per status. A put writes the summary, then
(one script) moves the key into the right status sets and drops members older than the
retention, whose summaries have expired. A page walks the index that fits the query
(tenant and status are indexed, the time range is a score range) newest first, loads the
summaries of a batch in one round trip and checks the remaining filters (channel,
escalation reason) on them; one call examines at most ``MAX_SCAN`` members, so a rare
filter returns short pages with a cursor rather than scanning everything at once.
"""

import json
from typing import Any

from redis.exceptions import RedisError

from agent.runtime.directory import (
    ConversationSummary,
    DirectoryPage,
    DirectoryQuery,
    Position,
    Status,
)
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError

STATUSES = tuple(Status)
MAX_SCAN = 1000  # index members one page call examines at most
_BATCH = 100

# KEYS: all, tenant, then the status sets of all (5), then the tenant's (5), in STATUSES
# order. ARGV: member, score, status index (1-based), prune before (score).
_PUT = """
local n = #KEYS
for i = 3, n do redis.call('zrem', KEYS[i], ARGV[1]) end
local s = tonumber(ARGV[3])
for _, i in ipairs({1, 2, 2 + s, 7 + s}) do
  redis.call('zadd', KEYS[i], ARGV[2], ARGV[1])
  redis.call('zremrangebyscore', KEYS[i], '-inf', '(' .. ARGV[4])
end
return 1
"""

_ERASE = """
for i = 1, #KEYS do redis.call('zrem', KEYS[i], ARGV[1]) end
return 1
"""


class RedisDirectory:
    """``ConversationDirectory`` on Redis (standalone, Sentinel or Cluster)."""

    def __init__(self, client: AsyncRedis, keys: RedisKeys, retention_s: int) -> None:
        self._redis = client
        self._keys = keys
        self._retention_s = retention_s
        self._put = client.register_script(_PUT)
        self._erase = client.register_script(_ERASE)

    async def put(self, summary: ConversationSummary) -> None:
        data = json.dumps(summary.to_dict(), ensure_ascii=False, separators=(",", ":"))
        position = STATUSES.index(summary.status) + 1
        prune_before = summary.updated_at - self._retention_s
        try:
            await self._redis.set(self._summary(summary.key), data, ex=self._retention_s)
            await self._put(
                keys=self._index_keys(summary.tenant),
                args=[summary.key, repr(summary.updated_at), position, repr(prune_before)],
            )
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to update the directory: {error}") from None

    async def get(self, conversation_key: str) -> ConversationSummary | None:
        raw = await self._guard(self._redis.get(self._summary(conversation_key)))
        return ConversationSummary.from_dict(json.loads(raw)) if raw else None

    async def page(
        self, query: DirectoryQuery, limit: int, after: Position | None = None
    ) -> DirectoryPage:
        index = self._index(query.tenant, query.status)
        top: float | str = "+inf" if query.updated_until is None else query.updated_until
        if after is not None:  # ties at its time are skipped below
            top = after.updated_at
        bottom: float | str = "-inf" if query.updated_since is None else query.updated_since
        items: list[ConversationSummary] = []
        offset = scanned = 0
        last: Position | None = None
        while scanned < MAX_SCAN:
            rows = await self._guard(
                self._redis.zrevrangebyscore(
                    index, top, bottom, start=offset, num=_BATCH, withscores=True
                )
            )
            offset += len(rows)
            candidates = [
                Position(float(score), _text(member))
                for member, score in rows
                if after is None or Position(float(score), _text(member)) < after
            ]
            for position, summary in zip(candidates, await self._load(candidates), strict=True):
                scanned += 1
                last = position
                if summary is not None and query.matches(summary):
                    items.append(summary)
                    if len(items) == limit:
                        return DirectoryPage(items, position)
            if len(rows) < _BATCH:
                return DirectoryPage(items, None)
        return DirectoryPage(items, last)

    async def erase(self, conversation_key: str) -> None:
        tenant = conversation_key.split(":", 1)[0]
        await self._guard(self._redis.delete(self._summary(conversation_key)))
        await self._guard(self._erase(keys=self._index_keys(tenant), args=[conversation_key]))

    async def _load(self, positions: list[Position]) -> list[ConversationSummary | None]:
        """The summaries of these members (None where expired: dropped from the indexes)."""
        if not positions:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for position in positions:
            pipe.get(self._summary(position.key))
        raw = await self._guard(pipe.execute())
        found: list[ConversationSummary | None] = []
        for position, item in zip(positions, raw, strict=True):
            if item is None:
                tenant = position.key.split(":", 1)[0]
                await self._guard(self._erase(keys=self._index_keys(tenant), args=[position.key]))
            found.append(ConversationSummary.from_dict(json.loads(item)) if item else None)
        return found

    def _index_keys(self, tenant: str) -> list[str]:
        return [
            self._index(None, None),
            self._index(tenant, None),
            *(self._index(None, status) for status in STATUSES),
            *(self._index(tenant, status) for status in STATUSES),
        ]

    def _index(self, tenant: str | None, status: Status | None) -> str:
        scope = "all" if tenant is None else f"tenant:{tenant}"
        return self._keys.directory(scope if status is None else f"{scope}:{status.value}")

    def _summary(self, conversation_key: str) -> str:
        return self._keys.conversation(conversation_key, "summary")

    @staticmethod
    async def _guard(awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read the directory: {error}") from None


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
