"""The webhook path's write on Redis: a delivery's claim and its messages in one step.

On one server (standalone or Sentinel) the accepts of concurrent requests are batched:
while a round trip is in flight, the calls that arrive wait, and then go together as ONE
``EVALSHA`` of one script, whose answer resolves each caller's own result. The Redis
client's per-call cost is what limits a webhook endpoint, so a batch costs about what one
call costs. A script runs atomically (and, with ``appendfsync always``, is on disk before
any answer is sent): a delivery is claimed together with all its messages. Inside the
script a delivery's messages are written before its claim, so even a delivery stopped
half-way (an out-of-memory or wrong-type error, caught per delivery) leaves no claim
without its messages, and the other deliveries of the batch are not affected.

On Redis Cluster a delivery's keys live on several slots (its dedupe key, each
conversation's keys, the ``{queue}`` keys): each step is a call of its own, in an order
that is safe: look for the claim, append the messages (idempotent by message id), then
claim. A failure on the way leaves no claim, so the sender's retry appends what is missing.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from agent.runtime.models import InboundMessage
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes, message_record
from agent.runtime.stores import AcceptResult, RuntimeStoreError

# KEYS: ready, waiting, signal; per delivery: its dedupe key, then per message: mailbox,
# seen, transcript and, when the message names a customer, the customer's index.
# ARGV[1]: retention (s); ARGV[2]: the deliveries, in JSON (one argument: the client packs
# a few large arguments much faster than many small ones): per delivery [dedupe TTL (s),
# delay (ms), messages], per message [conversation, message id, record, transcript entry
# ('' for none), arrival, 1 when a customer index key follows, else 0].
# Answer per delivery: 'd' (duplicate delivery id: nothing written), 'e' and Redis's error
# (that delivery failed, no claim; the others of the batch are not affected), or one '1'
# (new) / '0' (message id seen before) per message.
_ACCEPT = """
local t = redis.call('time')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local retention = ARGV[1]

local function deliver(dedupe, ttl, due, k, messages)
  local flags = {}
  for m, message in ipairs(messages) do
    local conv = message[1]
    local fresh = redis.call('sadd', KEYS[k + 1], message[2]) == 1
    if fresh then
      redis.call('rpush', KEYS[k], message[3])
      if message[4] ~= '' then
        redis.call('rpush', KEYS[k + 2], message[4])
        redis.call('expire', KEYS[k + 2], retention)
      end
      redis.call('expire', KEYS[k], retention)
      redis.call('expire', KEYS[k + 1], retention)
      redis.call('zadd', KEYS[2], 'NX', message[5], conv)
    end
    -- pushed back within its coalescing window, never once it waits in line (due already)
    local current = redis.call('zscore', KEYS[1], conv)
    if not current or tonumber(current) > now then redis.call('zadd', KEYS[1], 'GT', due, conv) end
    k = k + 3
    if message[6] == 1 then
      if fresh then
        redis.call('sadd', KEYS[k], conv)
        redis.call('expire', KEYS[k], retention)
      end
      k = k + 1
    end
    flags[m] = fresh and '1' or '0'
  end
  redis.call('set', dedupe, '1', 'EX', ttl)  -- last: no claim without all its messages
  return table.concat(flags)
end

local k = 4
local answers = {}
for d, delivery in ipairs(cjson.decode(ARGV[2])) do
  local dedupe, first = KEYS[k], k + 1
  k = first
  for _, message in ipairs(delivery[3]) do k = k + 3 + message[6] end
  if redis.call('exists', dedupe) == 1 then
    answers[d] = 'd'
  else
    local ok, result = pcall(deliver, dedupe, delivery[1], now + delivery[2], first, delivery[3])
    if ok then
      answers[d] = result
    elseif type(result) == 'table' and result.err then
      answers[d] = 'e' .. result.err
    else
      answers[d] = 'e' .. tostring(result)
    end
  end
end
redis.call('lpush', KEYS[3], '1')
redis.call('ltrim', KEYS[3], 0, 63)
return answers
"""

MAX_BATCH = 256  # deliveries per round trip


class _Call:
    __slots__ = ("args", "future", "keys")

    def __init__(self, keys: list[str], args: list[Any], future: "asyncio.Future[str]") -> None:
        self.keys = keys
        self.args = args
        self.future = future


class RedisIntake:
    """``Intake`` on Redis; ``mailboxes`` does the per-call steps on Redis Cluster."""

    def __init__(
        self, client: AsyncRedis, keys: RedisKeys, retention_s: int, mailboxes: RedisMailboxes
    ) -> None:
        self._redis = client
        self._keys = keys
        self._retention_s = retention_s
        self._mailboxes = mailboxes
        self._cluster = isinstance(client, RedisCluster)
        self._script = client.register_script(_ACCEPT)
        self._queue_keys = [keys.queue("ready"), keys.queue("waiting"), keys.queue("signal")]
        self._batcher = _Batcher(self._send)

    async def accept(
        self,
        dedupe_key: str,
        dedupe_ttl_s: int,
        messages: Sequence[InboundMessage],
        delay_s: float,
    ) -> AcceptResult:
        if self._cluster:
            return await self._accept_step_by_step(dedupe_key, dedupe_ttl_s, messages, delay_s)
        keys = [self._keys.dedupe(dedupe_key)]
        entries: list[list[Any]] = []
        for message in messages:
            conversation = message.conversation_key
            record, entry = message_record(message)
            keys.append(self._keys.conversation(conversation, "mailbox"))
            keys.append(self._keys.conversation(conversation, "seen"))
            keys.append(self._keys.conversation(conversation, "transcript"))
            indexed = 1 if message.customer.id else 0
            if indexed:
                keys.append(self._keys.customer(message.tenant, message.customer.id))
            arrival = repr(message.received_at)
            entries.append([conversation, message.message_id, record, entry, arrival, indexed])
        args = [str(dedupe_ttl_s), max(0, int(delay_s * 1000)), entries]
        answer = await self._batcher.submit(keys, args)
        if answer == "d":
            return AcceptResult(duplicate=True)
        if answer.startswith("e"):
            raise RuntimeStoreError(f"Redis failed to accept a delivery: {answer[1:]}")
        return AcceptResult(duplicate=False, fresh=tuple(flag == "1" for flag in answer))

    async def _send(self, calls: list[_Call]) -> list[str]:
        keys = list(self._queue_keys)
        for call in calls:
            keys += call.keys
        deliveries = json.dumps([call.args for call in calls], ensure_ascii=False)
        try:
            answers = await self._script(keys=keys, args=[self._retention_s, deliveries])
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to accept a delivery: {error}") from None
        return [_text(answer) for answer in answers]

    async def _accept_step_by_step(
        self,
        dedupe_key: str,
        dedupe_ttl_s: int,
        messages: Sequence[InboundMessage],
        delay_s: float,
    ) -> AcceptResult:
        claim = self._keys.dedupe(dedupe_key)
        try:
            if await self._redis.exists(claim):
                return AcceptResult(duplicate=True)
            fresh = tuple([await self._mailboxes.append(m, delay_s) for m in messages])
            # The same delivery accepted twice at once: both append the same messages, each
            # written once (by message id), so whichever wrote them reports them as new.
            claimed = await self._redis.set(claim, b"1", nx=True, ex=dedupe_ttl_s)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to accept a delivery: {error}") from None
        if not claimed and not any(fresh):
            return AcceptResult(duplicate=True)
        return AcceptResult(duplicate=False, fresh=fresh)


class _Batcher:
    """Send the calls that arrive while a round trip is in flight together, in the next one.

    One task sends batch after batch while calls wait; each call's future gets its answer,
    or the batch's error.
    """

    def __init__(self, send: Callable[[list[_Call]], Awaitable[list[str]]]) -> None:
        self._send = send
        self._waiting: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None

    async def submit(self, keys: list[str], args: list[Any]) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Call(keys, args, future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
                try:
                    answers = await self._send(batch)
                except Exception as error:  # every caller of the batch hears of it
                    for call in batch:
                        if not call.future.done():
                            call.future.set_exception(error)
                    continue
                except BaseException:  # cancelled (shutdown): so are the calls
                    for call in batch:
                        call.future.cancel()
                    raise
                for call, answer in zip(batch, answers, strict=True):
                    if not call.future.done():
                        call.future.set_result(answer)
        finally:
            self._sender = None
            leftover, self._waiting = self._waiting, []
            for call in leftover:  # only when cancelled
                call.future.cancel()


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
