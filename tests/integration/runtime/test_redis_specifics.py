"""What only the Redis backend does: key layout, retention by TTL, several processes."""

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from agent.runtime.models import Author, InboundMessage, OutboxItem, TranscriptEntry, TurnCommit
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes
from agent.runtime.redis_stores import RedisTranscripts
from tools.context import Customer

pytestmark = pytest.mark.redis

KEY = "demo:generic:c-1"


def message(message_id: str = "m-1") -> InboundMessage:
    return InboundMessage("demo", "generic", "c-1", message_id, "hi", Customer("cust_1"))


async def _conversation_keys(client: Redis, prefix: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=f"{prefix}conv:*")]


async def test_a_conversations_keys_share_one_cluster_slot(
    redis_client: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(redis_prefix)
    boxes = RedisMailboxes(redis_client, keys, retention_s=3600)
    await boxes.append(message(), delay_s=0)
    claim = await boxes.claim(30, limit=5)
    assert claim is not None
    item = OutboxItem("m-1.reply", "reply", {"text": "hello"})
    await boxes.commit(claim, TurnCommit(1, (TranscriptEntry(Author.BOT, "x", "r"),), (item,)))
    stored = await _conversation_keys(redis_client, redis_prefix)
    assert len(stored) >= 6  # mailbox, seen, lock, fence, outbox, pending, transcript...
    assert {key_slot(key) for key in stored} == {key_slot(keys.transcript(KEY).encode())}
    queue = [keys.queue(part).encode() for part in ("ready", "waiting", "signal")]
    assert len({key_slot(key) for key in queue}) == 1


async def test_every_conversation_key_expires_after_the_retention(
    redis_client: Redis, redis_prefix: str
) -> None:
    boxes = RedisMailboxes(redis_client, RedisKeys(redis_prefix), retention_s=600)
    await boxes.append(message(), delay_s=0)
    claim = await boxes.claim(30, limit=5)
    assert claim is not None
    await boxes.commit(claim, TurnCommit(1, (TranscriptEntry(Author.BOT, "x", "r"),)))
    await boxes.release(claim)
    for key in await _conversation_keys(redis_client, redis_prefix):
        ttl = await redis_client.ttl(key)
        assert 0 < ttl <= 600, key


async def test_records_carry_a_schema_version(redis_client: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(redis_prefix)
    await RedisMailboxes(redis_client, keys, 600).append(message(), delay_s=0)
    for raw in (
        await redis_client.lindex(keys.transcript(KEY), 0),
        await redis_client.lindex(keys.conversation(KEY, "mailbox"), 0),
    ):
        assert b'"v":1' in raw


async def test_processes_never_hold_one_conversation_at_once(
    redis_url: str, redis_prefix: str
) -> None:
    """Four independent clients (as four worker processes would) race for claims."""
    clients = [Redis.from_url(redis_url) for _ in range(4)]
    keys = RedisKeys(redis_prefix)
    boxes = [RedisMailboxes(client, keys, 600) for client in clients]
    try:
        for i in range(3):
            await boxes[0].append(message(f"m-{i}"), delay_s=0)
        claims = await asyncio.gather(*(b.claim(30, limit=10) for b in boxes))
        won = [claim for claim in claims if claim is not None]
        assert len(won) == 1 and len(won[0].messages) == 3
    finally:
        for client in clients:
            await client.aclose()


async def test_transcripts_written_by_the_api_are_read_back(
    redis_client: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(redis_prefix)
    await RedisMailboxes(redis_client, keys, 600).append(message(), delay_s=0)
    entries = await RedisTranscripts(redis_client, keys).entries(KEY)
    assert [(e.author, e.message_id) for e in entries] == [(Author.CUSTOMER, "m-1")]


async def test_a_message_landing_while_the_release_settles_keeps_its_place_in_line(
    redis_client: Redis, redis_prefix: str
) -> None:
    """The customer answers the reply at once: the message reaches the mailbox after the
    release read it empty, before the release settled the queue (the bench's waiting
    customers did this). It stays on the waiting list, so the watchdog and the take-over
    of a dead worker still see when it arrived."""
    keys = RedisKeys(redis_prefix)
    worker = RedisMailboxes(redis_client, keys, retention_s=600)
    webhook = RedisMailboxes(redis_client, keys, retention_s=600)
    await webhook.append(message("m-1"), delay_s=0)
    claim = await worker.claim(30, limit=5, holder="w-1")
    assert claim is not None
    await worker.commit(claim, TurnCommit(1, (TranscriptEntry(Author.BOT, "hello", "r-1"),)))
    landed: list[InboundMessage] = []
    settle = worker._run

    async def message_lands_first(script: str, keys: list[str], args: list[Any]) -> Any:
        if script == "settle" and not landed:
            landed.append(message("m-2"))
            await webhook.append(landed[0], delay_s=0)
        return await settle(script, keys, args)

    worker._run = message_lands_first  # type: ignore[method-assign]
    await worker.release(claim)
    assert await webhook.overdue(0.0) == [KEY]
    arrived = await redis_client.zscore(keys.queue("waiting"), KEY)
    assert arrived == pytest.approx(landed[0].received_at)
    assert await redis_client.zscore(keys.queue("ready"), KEY) is not None
    assert await redis_client.hlen(keys.queue("claimed:w-1")) == 0
    again = await worker.claim(30, limit=5, holder="w-1")
    assert again is not None and [m.message_id for m in again.messages] == ["m-2"]
