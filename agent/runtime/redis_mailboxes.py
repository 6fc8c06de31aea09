"""Mailboxes on plain Redis: lists, sorted sets and small Lua scripts, Cluster-safe.

Per conversation (one slot): ``mailbox`` (waiting messages, oldest first), ``seen``
(accepted message ids), ``lock`` (the current fence, with the lease as its TTL),
``fence`` (a counter), ``holder`` (the worker process that claimed it, until it lets go),
``attempts`` (claims since the last commit) and ``crashes`` (take-overs from a holder that
died without letting go, before or after its lease ended), ``outbox``
(item key → JSON) with ``pending`` (undelivered item keys in commit order), ``held`` (the
message given a holding reply), ``transcript`` and ``state``.
Scheduling (one ``{queue}`` slot): ``ready`` (conversation → due time, ms, Redis clock),
``waiting`` (conversation → arrival of its oldest message), ``signal``, ``alive`` (worker
process → until when its heartbeat vouches for it) and ``claimed:<worker>`` (the
conversations it picked and has not let go of, listed from the pick until the release has
rescheduled them). A conversation whose holder stopped beating is made ready and taken
over at once, with a new fence, wherever in its claim, turn or release the holder died.

A script touches one slot only; steps across slots are ordered so that a crash or a
race between them leaves a conversation ready too early, never forgotten.
"""

import json
import time
from typing import Any

import orjson
from redis.exceptions import RedisError

from agent.runtime.models import (
    ApprovalRecord,
    ApprovalStatus,
    Claim,
    InboundMessage,
    OutboxItem,
    TurnCommit,
    approval_conversation,
)
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import ApprovalNotPending, RuntimeStoreError, StaleClaim

_APPEND = """
if redis.call('sadd', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('rpush', KEYS[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('rpush', KEYS[3], ARGV[4])
  redis.call('expire', KEYS[3], ARGV[3])
end
for i = 1, 2 do redis.call('expire', KEYS[i], ARGV[3]) end
return 1
"""

_SCHEDULE = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
-- pushed back within its coalescing window, never once it waits in line (due already)
local due = redis.call('zscore', KEYS[1], ARGV[1])
if not due or tonumber(due) > now then
  redis.call('zadd', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
end
if ARGV[3] ~= '' then redis.call('zadd', KEYS[2], 'NX', ARGV[3], ARGV[1]) end
redis.call('lpush', KEYS[3], '1')
redis.call('ltrim', KEYS[3], 0, 63)
return 1
"""

_PICK = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('zadd', KEYS[1], 'XX', now + tonumber(ARGV[1]), due[1])
if ARGV[2] ~= '' then  -- listed under its worker from now on: a death now loses nothing
  redis.call('hincrby', KEYS[2], due[1], 1)
  redis.call('expire', KEYS[2], ARGV[3])
end
return due[1]
"""

_UNCLAIM_LUA = """
if redis.call('hincrby', KEYS[{k}], ARGV[{a}], -1) <= 0 then
  redis.call('hdel', KEYS[{k}], ARGV[{a}])
end
"""  # one claim in progress fewer: ARGV[a] under the worker's KEYS[k]

_NOTE = """
redis.call('hincrby', KEYS[1], ARGV[1], 1)
redis.call('expire', KEYS[1], ARGV[2])
return 1
"""

_UNCLAIM = _UNCLAIM_LUA.format(k=1, a=1) + "return 1\n"

_DEFER = (
    """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if ARGV[2] ~= '' then
  local until_ms = redis.call('zscore', KEYS[1], ARGV[2])
  if not until_ms or tonumber(until_ms) <= now then return 0 end  -- dead: take it over
end
redis.call('zadd', KEYS[2], 'XX', now + tonumber(ARGV[3]), ARGV[1])
if ARGV[4] ~= '' then
"""
    + _UNCLAIM_LUA.format(k=3, a=1)
    + """end
return 1
"""
)

_TAKE = """
local held = redis.call('pttl', KEYS[1])
local by = redis.call('get', KEYS[5]) or ''
if held > 0 and (ARGV[5] == '' or by ~= ARGV[5]) then return {-1, held, by} end
local counter = KEYS[4]
if by ~= '' then counter = KEYS[6] end  -- its holder never let go: it died
local fence = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], fence, 'PX', ARGV[1])
if ARGV[4] == '' then redis.call('del', KEYS[5])
else redis.call('set', KEYS[5], ARGV[4], 'EX', ARGV[3]) end
redis.call('incr', counter)
for _, i in ipairs({2, 4, 6}) do
  if redis.call('exists', KEYS[i]) == 1 then redis.call('expire', KEYS[i], ARGV[3]) end
end
local result = {fence, tonumber(redis.call('get', KEYS[4]) or '0'),
                tonumber(redis.call('get', KEYS[6]) or '0')}
for _, m in ipairs(redis.call('lrange', KEYS[3], 0, tonumber(ARGV[2]) - 1)) do
  table.insert(result, m)
end
return result
"""

_BEAT = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('zadd', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('zrangebyscore', KEYS[1], '-inf', now, 'LIMIT', 0, 16)
"""

_REAP = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local until_ms = redis.call('zscore', KEYS[2], ARGV[1])
if until_ms and tonumber(until_ms) > now then return 0 end
local held = redis.call('hkeys', KEYS[1])
for _, key in ipairs(held) do
  -- ready as of its oldest waiting message: it keeps its place in line
  local since = redis.call('zscore', KEYS[5], key)
  local due = now
  if since then due = math.min(now, math.floor(tonumber(since) * 1000)) end
  redis.call('zadd', KEYS[3], 'LT', due, key)
end
redis.call('del', KEYS[1])
redis.call('zrem', KEYS[2], ARGV[1])
redis.call('lpush', KEYS[4], '1')
redis.call('ltrim', KEYS[4], 0, 63)
return #held
"""

_RENEW = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2])
return 1
"""

_DECIDE = """
local raw = redis.call('hget', KEYS[1], ARGV[1])
if not raw then return {0, ''} end
if cjson.decode(raw)['status'] ~= 'pending' then return {2, raw} end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
if redis.call('sadd', KEYS[3], ARGV[4]) == 1 then redis.call('rpush', KEYS[2], ARGV[3]) end
return {1, ARGV[2]}
"""

_COMMIT = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local consumed = tonumber(ARGV[2])
if consumed > 0 then
  redis.call('ltrim', KEYS[2], consumed, -1)
  redis.call('del', KEYS[7])
  redis.call('del', KEYS[8])
  redis.call('del', KEYS[10])
end
local n = tonumber(ARGV[5])
for i = 1, n do redis.call('rpush', KEYS[3], ARGV[5 + i]) end
local j = 6 + n
local items = 6 + n + 2 * tonumber(ARGV[6 + n])
j = j + 1
while j < items do
  if redis.call('hsetnx', KEYS[4], ARGV[j], ARGV[j + 1]) == 1 then
    redis.call('rpush', KEYS[5], ARGV[j])
  end
  j = j + 2
end
while j < #ARGV do
  redis.call('hsetnx', KEYS[9], ARGV[j], ARGV[j + 1])
  j = j + 2
end
if ARGV[4] ~= '' then redis.call('set', KEYS[6], ARGV[4]) end
for _, i in ipairs({2, 3, 4, 5, 6, 9}) do
  if redis.call('exists', KEYS[i]) == 1 then redis.call('expire', KEYS[i], ARGV[3]) end
end
return 1
"""

_UNLOCK = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
redis.call('del', KEYS[2])
return 1
"""

_REMAINING = """
return {redis.call('llen', KEYS[1]), redis.call('llen', KEYS[2]),
        redis.call('lindex', KEYS[1], 0) or '', redis.call('get', KEYS[3]) or '',
        redis.call('lindex', KEYS[1], -1) or ''}
"""

_SETTLE = (
    """
if ARGV[5] == '1' then
  local t = redis.call('time')
  local now = t[1] * 1000 + math.floor(t[2] / 1000)
  local due = now + tonumber(ARGV[2])
  if ARGV[4] ~= '' then due = math.min(due, tonumber(ARGV[4])) end
  redis.call('zadd', KEYS[1], due, ARGV[1])
  redis.call('lpush', KEYS[3], '1')
  redis.call('ltrim', KEYS[3], 0, 63)
end
if ARGV[3] == '' then redis.call('zrem', KEYS[2], ARGV[1])
else redis.call('zadd', KEYS[2], ARGV[3], ARGV[1]) end
if ARGV[6] ~= '' then
"""
    + _UNCLAIM_LUA.format(k=4, a=1)
    + """end
return 1
"""
)


_CONVERSATION_PARTS = (
    "mailbox", "seen", "lock", "fence", "attempts", "outbox", "pending", "held", "approvals",
    "holder", "crashes",
)  # fmt: skip


class RedisMailboxes:
    """The ``Mailboxes`` contract on Redis; ``retention_s`` bounds how long anything stays."""

    def __init__(self, client: AsyncRedis, keys: RedisKeys, retention_s: int) -> None:
        self._redis = client
        self._keys = keys
        self._retention_s = retention_s
        self._scripts = {
            name: client.register_script(source)
            for name, source in {
                "append": _APPEND,
                "schedule": _SCHEDULE,
                "pick": _PICK,
                "take": _TAKE,
                "renew": _RENEW,
                "commit": _COMMIT,
                "unlock": _UNLOCK,
                "remaining": _REMAINING,
                "settle": _SETTLE,
                "note": _NOTE,
                "unclaim": _UNCLAIM,
                "defer": _DEFER,
                "decide": _DECIDE,
                "beat": _BEAT,
                "reap": _REAP,
            }.items()
        }

    async def append(self, message: InboundMessage, delay_s: float) -> bool:
        key = message.conversation_key
        record, entry = message_record(message)
        fresh = await self._run(
            "append",
            [self._conv(key, "mailbox"), self._conv(key, "seen"), self._conv(key, "transcript")],
            [message.message_id, record, self._retention_s, entry],
        )
        await self._run(
            "schedule",
            [self._keys.queue("ready"), self._keys.queue("waiting"), self._keys.queue("signal")],
            [key, _ms(delay_s), repr(message.received_at) if fresh else ""],
        )
        if fresh and message.customer.id:
            await self._index_customer(message)
        return bool(fresh)

    async def claim(self, lease_s: float, limit: int, holder: str = "") -> Claim | None:
        picked = await self._run(
            "pick",
            [self._keys.queue("ready"), self._claims(holder)],
            [_ms(lease_s), holder, self._retention_s],
        )
        if picked is None:
            return None
        return await self._take(_text(picked), lease_s, limit, holder)

    async def claim_key(
        self, conversation_key: str, lease_s: float, limit: int, holder: str = ""
    ) -> Claim | None:
        if holder:  # listed under its worker before it is taken, as ``claim`` does
            await self._run("note", [self._claims(holder)], [conversation_key, self._retention_s])
        claim = await self._take(conversation_key, lease_s, limit, holder)
        if claim is not None:
            ready = {conversation_key: _deadline_ms(lease_s)}
            await self._guard(self._redis.zadd(self._keys.queue("ready"), ready, xx=True))
        return claim

    async def wait(self, timeout_s: float) -> None:
        due = await self._guard(
            self._redis.zrange(self._keys.queue("ready"), 0, 0, withscores=True)
        )
        if due:
            seconds, micros = await self._guard(self._redis.time())
            until_due = float(due[0][1]) / 1000 - (seconds + micros / 1e6)
            timeout_s = min(timeout_s, max(until_due, 0.0))
        if timeout_s <= 0:
            return
        await self._guard(self._redis.blpop([self._keys.queue("signal")], timeout=timeout_s))

    async def heartbeat(self, holder: str, ttl_s: float) -> None:
        alive = self._keys.queue("alive")
        dead = await self._run("beat", [alive], [holder, _ms(ttl_s)])
        for gone in (_text(item) for item in dead):
            held = self._claims(gone)
            queue = self._keys.queue
            keys = [held, alive, queue("ready"), queue("signal"), queue("waiting")]
            await self._run("reap", keys, [gone])

    async def renew(self, claim: Claim, lease_s: float) -> None:
        key = claim.conversation_key
        if not await self._run("renew", [self._conv(key, "lock")], [claim.fence, _ms(lease_s)]):
            raise StaleClaim(f"conversation {key} changed hands (fence {claim.fence})")
        await self._guard(
            self._redis.zadd(
                self._keys.queue("ready"), {key: _deadline_ms(lease_s)}, xx=True, gt=True
            )
        )

    async def commit(self, claim: Claim, commit: TurnCommit) -> None:
        key = claim.conversation_key
        parts = (
            "lock", "mailbox", "transcript", "outbox", "pending", "state", "attempts", "held",
            "approvals", "crashes",
        )  # fmt: skip
        entries = [_dump(entry.to_dict()) for entry in commit.entries]
        items = [value for item in commit.outbox for value in (item.key, _dump(item.to_dict()))]
        approvals = [value for a in commit.approvals for value in (a.id, _dump(a.to_dict()))]
        state = _dump(commit.state.to_dict()) if commit.state else ""
        args = [claim.fence, commit.consumed, self._retention_s, state, len(entries)]
        done = await self._run(
            "commit",
            [self._conv(key, part) for part in parts],
            [*args, *entries, len(commit.outbox), *items, *approvals],
        )
        if not done:
            raise StaleClaim(f"conversation {key} changed hands; the turn's results were dropped")
        if commit.approvals:
            pending = {a.id: a.created_at for a in commit.approvals}
            await self._guard(self._redis.zadd(self._keys.queue("approvals"), pending))

    async def mark_delivered(self, conversation_key: str, item_key: str) -> None:
        await self._guard(self._redis.lrem(self._conv(conversation_key, "pending"), 1, item_key))

    async def undelivered(self, conversation_key: str) -> list[OutboxItem]:
        pending = await self._guard(
            self._redis.lrange(self._conv(conversation_key, "pending"), 0, -1)
        )
        if not pending:
            return []
        raw = await self._guard(self._redis.hmget(self._conv(conversation_key, "outbox"), pending))
        return [OutboxItem.from_dict(json.loads(item)) for item in raw if item is not None]

    async def release(self, claim: Claim, delay_s: float = 0.0) -> None:
        key = claim.conversation_key
        lock = [self._conv(key, "lock"), self._conv(key, "holder")]
        unlocked = await self._run("unlock", lock, [claim.fence])
        if not unlocked:  # someone else holds it now and schedules it
            if claim.holder:
                await self._run("unclaim", [self._claims(claim.holder)], [key])
            return
        # Listed under its worker until it is rescheduled (one script, the last step): a
        # worker that dies in between leaves it to the reaper, never unscheduled.
        await self._guard(self._redis.zrem(self._keys.queue("ready"), key))
        await self._reschedule_if_needed(key, delay_s, claim.holder)

    async def overdue(self, waited_s: float) -> list[str]:
        cutoff = time.time() - waited_s
        found = await self._guard(
            self._redis.zrangebyscore(self._keys.queue("waiting"), "-inf", cutoff, start=0, num=100)
        )
        return [_text(item) for item in found]

    async def mark_held(self, conversation_key: str) -> None:
        head = await self._guard(self._redis.lindex(self._conv(conversation_key, "mailbox"), 0))
        if head is not None:
            message_id = json.loads(head)["message_id"]
            await self._guard(
                self._redis.set(
                    self._conv(conversation_key, "held"), message_id, ex=self._retention_s
                )
            )
        await self._guard(self._redis.zrem(self._keys.queue("waiting"), conversation_key))

    async def depth(self) -> int:
        return int(await self._guard(self._redis.zcard(self._keys.queue("waiting"))))

    async def customer_conversations(self, tenant: str, customer_id: str) -> list[str]:
        found = await self._guard(self._redis.smembers(self._keys.customer(tenant, customer_id)))
        return sorted(_text(item) for item in found)

    async def approval(self, approval_id: str) -> ApprovalRecord | None:
        key = approval_conversation(approval_id)
        if key is None:
            return None
        raw = await self._guard(self._redis.hget(self._conv(key, "approvals"), approval_id))
        return ApprovalRecord.from_dict(json.loads(raw)) if raw else None

    async def pending_approvals(self) -> list[ApprovalRecord]:
        ids = [
            _text(i)
            for i in await self._guard(self._redis.zrange(self._keys.queue("approvals"), 0, 199))
        ]
        located = [(i, approval_conversation(i)) for i in ids]
        pipe = self._redis.pipeline(transaction=False)  # one round trip, not one per approval
        for approval, key in located:
            if key is not None:
                pipe.hget(self._conv(key, "approvals"), approval)
        raw = await self._guard(pipe.execute())
        records = [ApprovalRecord.from_dict(json.loads(item)) for item in raw if item]
        return [r for r in records if r.status is ApprovalStatus.PENDING]

    async def decide(self, record: ApprovalRecord, decision: InboundMessage) -> ApprovalRecord:
        key = record.conversation_key
        found, raw = await self._run(
            "decide",
            [self._conv(key, "approvals"), self._conv(key, "mailbox"), self._conv(key, "seen")],
            [record.id, _dump(record.to_dict()), _dump(decision.to_dict()), decision.message_id],
        )
        if int(found) == 0:
            raise RuntimeStoreError(f"approval {record.id} does not exist")
        stored = ApprovalRecord.from_dict(json.loads(raw))
        await self._guard(self._redis.zrem(self._keys.queue("approvals"), record.id))
        if int(found) == 2:
            raise ApprovalNotPending(stored)
        await self._run(
            "schedule",
            [self._keys.queue("ready"), self._keys.queue("waiting"), self._keys.queue("signal")],
            [key, 0, ""],
        )
        return stored

    async def erase(self, conversation_key: str) -> None:
        approvals = await self._guard(self._redis.hkeys(self._conv(conversation_key, "approvals")))
        if approvals:
            await self._guard(self._redis.zrem(self._keys.queue("approvals"), *approvals))
        parts = (*_CONVERSATION_PARTS, "transcript", "state")
        await self._guard(self._redis.delete(*(self._conv(conversation_key, p) for p in parts)))
        for queue in ("ready", "waiting"):
            await self._guard(self._redis.zrem(self._keys.queue(queue), conversation_key))

    async def forget_customer(self, tenant: str, customer_id: str) -> None:
        await self._guard(self._redis.delete(self._keys.customer(tenant, customer_id)))

    async def expired(self, idle_s: float) -> list[str]:
        return []  # every key carries the retention as its TTL

    async def _take(self, key: str, lease_s: float, limit: int, holder: str) -> Claim | None:
        """Take ``key`` (already listed under ``holder``): at once if its lock is free or
        its holder is dead; else look again when that lease ends."""
        fence, detail, third, *raw = await self._take_script(key, lease_s, limit, holder, "")
        if int(fence) < 0:
            if await self._defer(key, _text(third), int(detail), holder):
                return None  # its holder lives
            # its holder died: take it over now rather than when its lease ends
            result = await self._take_script(key, lease_s, limit, holder, _text(third))
            fence, detail, third, *raw = result
            if int(fence) < 0:  # another worker took it over first
                await self._defer(key, "", int(detail), holder)
                return None
        messages = tuple(InboundMessage.from_dict(json.loads(item)) for item in raw)
        return Claim(key, int(fence), messages, int(detail), holder, int(third))

    async def _take_script(
        self, key: str, lease_s: float, limit: int, holder: str, displace: str
    ) -> list[Any]:
        parts = ("lock", "fence", "mailbox", "attempts", "holder", "crashes")
        result: list[Any] = await self._run(
            "take",
            [self._conv(key, part) for part in parts],
            [_ms(lease_s), limit, self._retention_s, holder, displace],
        )
        return result

    async def _defer(self, key: str, held_by: str, held_ms: int, holder: str) -> bool:
        """Put ``key`` off until its lease ends (held_ms from now) and unlist it from
        ``holder``, unless ``held_by`` (checked in the same script as the reaper's, so a
        death declared meanwhile is seen) is dead: False then, and nothing changes."""
        queue = self._keys.queue
        keys = [queue("alive"), queue("ready"), self._claims(holder)]
        return bool(await self._run("defer", keys, [key, held_by, held_ms, holder]))

    async def _reschedule_if_needed(self, key: str, delay_s: float, holder: str) -> None:
        """Schedule what is left (waiting messages, undelivered items) and unlist the
        conversation from ``holder``, in one script.

        A message can land between the read of the mailbox and the settling, which, having
        seen none, takes the conversation off the waiting list (a customer who answers the
        reply at once does that). So when none was seen, the mailbox is read again after
        the settling: a message found then is scheduled with its arrival, keeping its
        place in line and its holding reply (nothing to unlist the second time)."""
        if await self._settle(key, delay_s, holder):
            return
        mailbox = self._conv(key, "mailbox")
        if await self._guard(self._redis.llen(mailbox)) > 0:
            await self._settle(key, delay_s, "")

    async def _settle(self, key: str, delay_s: float, holder: str) -> bool:
        """One read of what is left and one settling script; True when messages wait."""
        parts = ("mailbox", "pending", "held")
        waiting, undelivered, head, held, tail = await self._run(
            "remaining", [self._conv(key, part) for part in parts], []
        )
        oldest, due = "", ""
        if int(waiting) > 0:
            message = json.loads(head)
            oldest = "" if message["message_id"] == _text(held) else repr(message["received_at"])
            if delay_s <= 0:  # messages that came during the turn: in order of arrival
                due = str(int(float(json.loads(tail)["received_at"]) * 1000))
        schedule = "1" if int(waiting) > 0 or int(undelivered) > 0 else ""
        queue = self._keys.queue
        await self._run(
            "settle",
            [queue("ready"), queue("waiting"), queue("signal"), self._claims(holder)],
            [key, _ms(delay_s), oldest, due, schedule, holder],
        )
        return int(waiting) > 0

    async def _index_customer(self, message: InboundMessage) -> None:
        index = self._keys.customer(message.tenant, message.customer.id)
        pipe = self._redis.pipeline(transaction=False)  # one round trip on the webhook path
        pipe.sadd(index, message.conversation_key)
        pipe.expire(index, self._retention_s)
        await self._guard(pipe.execute())

    def _claims(self, holder: str) -> str:
        """The conversations a worker process picked and has not let go of, each with the
        number of its claims in progress (a hash in the ``{queue}`` slot)."""
        return self._keys.queue(f"claimed:{holder}")

    def _conv(self, conversation_key: str, part: str) -> str:
        return self._keys.conversation(conversation_key, part)

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self._guard(self._scripts[script](keys=keys, args=args))

    @staticmethod
    async def _guard(awaitable: Any) -> Any:
        try:
            return await awaitable
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed: {error}") from None


def _ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))


def _deadline_ms(seconds_from_now: float) -> int:
    return int((time.time() + seconds_from_now) * 1000)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def message_record(message: InboundMessage) -> tuple[str, str]:
    """The message as its mailbox keeps it, and its transcript entry ('' for none)."""
    entry = message.transcript_entry()
    return _fast_dump(message.to_dict()), "" if entry is None else _fast_dump(entry.to_dict())


def _fast_dump(data: dict[str, Any]) -> str:
    """``_dump`` with orjson (the webhook path); what orjson refuses (an integer beyond 64
    bits, a key that is not a string) takes the standard library's way."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return _dump(data)


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
