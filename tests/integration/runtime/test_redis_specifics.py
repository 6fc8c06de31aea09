"""What only the Redis backend does: lock expiry, key layout, the processing list."""

import asyncio

import pytest
from redis.asyncio import Redis

from agent.runtime.models import Author, InboundMessage, TranscriptEntry
from agent.runtime.redis_stores import RedisKeys, RedisLocks, RedisTranscripts, RedisTurnQueue
from agent.runtime.stores import LockLost
from tools.context import Customer

pytestmark = pytest.mark.redis


async def test_an_expired_lock_is_reported_and_not_released_for_the_new_holder(
    redis_client: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(redis_prefix)
    locks = RedisLocks(redis_client, keys, poll_s=0.01)
    with pytest.raises(LockLost):
        async with locks.hold("demo:generic:c-1", ttl_s=0.1):
            await asyncio.sleep(0.2)
            # Another worker takes the conversation once the lock expired...
            await redis_client.set(keys.lock("demo:generic:c-1"), "other-holder")
    # ...and the first holder's release did not delete the other's lock.
    assert await redis_client.get(keys.lock("demo:generic:c-1")) == b"other-holder"


async def test_conversation_keys_share_a_cluster_hash_tag(redis_prefix: str) -> None:
    keys = RedisKeys(redis_prefix)
    key = "demo:generic:c-1"
    tags = {
        k[k.index("{") : k.index("}") + 1]
        for k in (keys.transcript(key), keys.state(key), keys.lock(key))
    }
    assert tags == {"{demo:generic:c-1}"}
    assert "{queue}" in keys.queue and "{queue}" in keys.processing  # BLMOVE needs one slot


async def test_taken_messages_wait_in_the_processing_list(
    redis_client: Redis, redis_prefix: str
) -> None:
    keys = RedisKeys(redis_prefix)
    queue = RedisTurnQueue(redis_client, keys)
    message = InboundMessage("demo", "generic", "c-1", "m-1", "hi", Customer("cust_1"))
    await queue.put(message)
    taken = await queue.take(1)
    assert taken == message
    assert await redis_client.llen(keys.queue) == 0
    assert await redis_client.llen(keys.processing) == 1
    await queue.ack(taken)
    assert await redis_client.llen(keys.processing) == 0


async def test_records_carry_a_schema_version(redis_client: Redis, redis_prefix: str) -> None:
    keys = RedisKeys(redis_prefix)
    await RedisTranscripts(redis_client, keys).append(
        "demo:generic:c-1", TranscriptEntry(Author.CUSTOMER, "hi", "m-1")
    )
    raw = await redis_client.lindex(keys.transcript("demo:generic:c-1"), 0)
    assert b'"v":1' in raw
