"""A worker process killed between any two of its Redis commands costs its conversations no
waiting: once its death is declared (its supervisor reaped it), they are claimable at once.

Only the Redis backend has this question (the embedded one keeps its leases in the process
that dies with them). The doomed worker's client raises ``Killed`` before its N-th command,
for every N until the operation completes: a process killed after sending a command is the
same as one killed before the next.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from agent.runtime.models import (
    Author,
    Claim,
    InboundMessage,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
)
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes
from tools.context import Customer

pytestmark = pytest.mark.redis

LEASE = 30.0  # far longer than the test: waiting for it would fail the test
DEAD, SURVIVOR = "worker-a", "worker-b"
MOST_STEPS = 40  # a bound on the loops below, should a change make an operation endless


class Killed(Exception):
    """The worker process died here: none of its later commands reach Redis."""


@dataclass
class Workers:
    """One conversation's store seen by a doomed worker and by a survivor (own clients)."""

    doomed: RedisMailboxes
    survivor: RedisMailboxes
    doomed_client: AsyncRedis


@dataclass
class Backend:
    connect: Callable[[], AsyncRedis]  # a new client: one per worker process
    prefix: str


@pytest.fixture(params=["redis", "redis-cluster"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "redis-cluster":
        url = request.getfixturevalue("redis_cluster_url")
        prefix = f"deskhand-test-{uuid.uuid4().hex[:12]}:"  # a throwaway cluster
        return Backend(lambda: RedisCluster.from_url(url), prefix)
    url = request.getfixturevalue("redis_url")
    return Backend(lambda: Redis.from_url(url), request.getfixturevalue("redis_prefix"))


@asynccontextmanager
async def workers(backend: Backend) -> AsyncIterator[Workers]:
    keys = RedisKeys(f"{backend.prefix}{uuid.uuid4().hex[:8]}:")
    doomed_client, survivor_client = backend.connect(), backend.connect()
    try:
        yield Workers(
            RedisMailboxes(doomed_client, keys, 3600),
            RedisMailboxes(survivor_client, keys, 3600),
            doomed_client,
        )
    finally:
        await doomed_client.aclose()
        await survivor_client.aclose()


def die_before(
    client: AsyncRedis, command: int, instead: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Before ``client``'s ``command``-th command (0: the next one), raise ``Killed``; or,
    with ``instead``, run it there and go on (another process acting at that moment)."""
    execute = client.execute_command
    sent = 0

    async def execute_command(*args: Any, **options: Any) -> Any:
        nonlocal sent
        sent += 1
        if sent == command + 1:
            if instead is None:
                raise Killed
            await instead()
        return await execute(*args, **options)

    client.execute_command = execute_command  # type: ignore[method-assign]


def message(message_id: str) -> InboundMessage:
    return InboundMessage("demo", "generic", "c-1", message_id, f"text {message_id}", Customer("c"))


def ids(claim: Claim | None) -> list[str]:
    assert claim is not None, "the dead worker's conversation was not claimable at once"
    return [m.message_id for m in claim.messages]


async def at_every_step(
    backend: Backend, scenario: Callable[[Workers, int], Awaitable[bool]]
) -> None:
    """Run ``scenario`` on fresh workers with its event before the doomed client's 0th,
    1st, ... command, until a run in which the event did not happen (the operation
    completed first); ``scenario`` says whether it happened."""
    for step in count():
        assert step < MOST_STEPS
        async with workers(backend) as w:
            if not await scenario(w, step):
                return


async def killed_at(operation: Awaitable[object]) -> bool:
    """Whether the doomed worker died during ``operation`` (else it completed)."""
    try:
        await operation
    except Killed:
        return True
    return False


async def test_a_worker_killed_during_its_claim(
    backend: Backend,
) -> None:

    async def scenario(w: Workers, step: int) -> bool:
        await w.survivor.heartbeat(DEAD, 30)
        await w.survivor.append(message("m-1"), delay_s=0)
        die_before(w.doomed_client, step)
        died = await killed_at(w.doomed.claim(LEASE, 10, DEAD))
        await w.survivor.heartbeat(DEAD, 0)  # its supervisor reaped it
        assert ids(await w.survivor.claim(LEASE, 10, SURVIVOR)) == ["m-1"], step
        return died

    await at_every_step(backend, scenario)


async def test_a_worker_killed_during_its_release_with_a_message_waiting(
    backend: Backend,
) -> None:
    """The customer read the reply and wrote again before the worker let go."""

    async def scenario(w: Workers, step: int) -> bool:
        await w.survivor.heartbeat(DEAD, 30)
        await w.survivor.append(message("m-1"), delay_s=0)
        claim = await w.doomed.claim(LEASE, 10, DEAD)
        assert ids(claim) == ["m-1"] and claim is not None
        item = OutboxItem("m-1.reply", "reply", {"text": "hello"})
        entry = TranscriptEntry(Author.BOT, "hello", item.key)
        await w.doomed.commit(claim, TurnCommit(1, (entry,), (item,)))
        await w.doomed.mark_delivered(claim.conversation_key, item.key)
        await w.survivor.append(message("m-2"), delay_s=0)
        die_before(w.doomed_client, step)
        died = await killed_at(w.doomed.release(claim))
        await w.survivor.heartbeat(DEAD, 0)
        assert ids(await w.survivor.claim(LEASE, 10, SURVIVOR)) == ["m-2"], step
        return died

    await at_every_step(backend, scenario)


async def test_a_death_declared_while_another_worker_looks_at_the_conversation(
    backend: Backend,
) -> None:
    """The survivor finds the conversation held by a worker whose death is declared
    between any two of its commands: it takes it, or leaves it ready, never waits."""

    async def scenario(w: Workers, step: int) -> bool:
        # roles swapped: the "doomed" client is the survivor's, and it does not die
        await w.survivor.heartbeat(DEAD, 30)
        await w.survivor.heartbeat(SURVIVOR, 30)
        await w.survivor.append(message("m-1"), delay_s=0)
        assert ids(await w.survivor.claim(LEASE, 10, DEAD)) == ["m-1"]
        declared = False

        async def declare() -> None:
            nonlocal declared
            declared = True
            await w.survivor.heartbeat(DEAD, 0)

        die_before(w.doomed_client, step, instead=declare)
        taken = await w.doomed.claim_key("demo:generic:c-1", LEASE, 10, SURVIVOR)
        if taken is None:
            if not declared:  # the death came after: as it would with the next beat
                await w.survivor.heartbeat(DEAD, 0)
            taken = await w.doomed.claim(LEASE, 10, SURVIVOR)
        assert ids(taken) == ["m-1"], step
        return declared

    await at_every_step(backend, scenario)
