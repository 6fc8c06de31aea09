"""A supervised worker for tests: the real ``Supervisor`` and ``WorkerPool`` on real Redis.

Usage: ``python supervised_pool.py REDIS_URL PREFIX PROCESSES``. Each forked process
starts as ``deskhand worker``'s do (a replacement declares its dead predecessor dead, then
says it is ready) and runs a pool whose turns are simple: a message whose text is ``hang``
hangs on its first claim (the test kills that process); every other claim commits a reply.
Claims and commits are recorded in the Redis list ``PREFIX + "log"`` as
``<event> <pid> <conversation> <crashes>``.

Leases and heartbeats last 60 s, so a conversation taken over sooner than that was
taken over because the supervisor's replacement declared its predecessor dead.
"""

import asyncio
import os
import signal
import sys

from redis.asyncio import Redis

from agent.runtime.models import Author, Claim, TranscriptEntry, TurnCommit
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes
from agent.runtime.supervisor import ChildStart, Supervisor
from agent.runtime.worker import PoolConfig, WorkerPool, declare_dead

LONG_S = 60.0


async def run_pool(redis_url: str, prefix: str, start: ChildStart) -> None:
    client: Redis = Redis.from_url(redis_url)
    boxes = RedisMailboxes(client, RedisKeys(prefix), retention_s=3600)
    record = prefix + "log"

    async def handle(claim: Claim) -> float:
        key = claim.conversation_key
        await client.rpush(record, f"claimed {os.getpid()} {key} {claim.crashes}")
        if claim.messages[0].text == "hang" and claim.crashes == 0:
            await asyncio.sleep(3600)
        last = claim.messages[-1].message_id
        entry = TranscriptEntry(Author.BOT, f"reply to {last}", f"{last}.reply")
        await boxes.commit(claim, TurnCommit(len(claim.messages), (entry,)))
        await client.rpush(record, f"finished {os.getpid()} {key} {claim.crashes}")
        return 0.0

    async def hold(claim: Claim) -> None:
        return None

    config = PoolConfig(concurrency=2, lease_s=LONG_S, idle_wait_s=0.2, heartbeat_s=LONG_S)
    pool = WorkerPool(boxes, handle, hold, config, holder=start.holder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if start.predecessor is not None:
        await declare_dead(boxes, start.predecessor)
    print(f"ready {os.getpid()} {start.slot} {start.holder} {start.predecessor}", flush=True)
    try:
        await pool.run(stop)
    finally:
        await client.aclose()


def main() -> int:
    redis_url, prefix, processes = sys.argv[1], sys.argv[2], int(sys.argv[3])

    def child(start: ChildStart) -> int:
        asyncio.run(run_pool(redis_url, prefix, start))
        return 0

    supervisor = Supervisor(
        processes, child, stop_grace_s=5.0, announce=lambda line: print(line, flush=True)
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
