"""Running the checkpointer's Redis work on a sync or an async client, from one description.

Each operation is a generator: it yields a ``Batch`` of commands, receives their replies,
and so on until it returns its result (``Op``) or, for listings, yields results between
batches (``Stream``). ``run_sync``/``run_async`` and ``stream_sync``/``stream_async`` drive
them. A batch is one round trip: a pipeline, wrapped in MULTI/EXEC when ``atomic`` (its
keys must then share one hash slot). RedisError becomes CheckpointError here, and only here.
"""

from collections.abc import AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis.exceptions import RedisClusterException, RedisError

from agent.runtime.checkpoint.errors import CheckpointError

AsyncClient = redis.asyncio.Redis | redis.asyncio.cluster.RedisCluster
SyncClient = redis.Redis | redis.cluster.RedisCluster

Command = tuple[Any, ...]
T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    """Commands sent in one round trip; ``atomic`` ones in one MULTI/EXEC (one slot)."""

    commands: Sequence[Command]
    atomic: bool = False


Op = Generator[Batch, list[Any], T]
Stream = Generator[Batch | T, list[Any], None]


def check_binary(client: AsyncClient | SyncClient) -> None:
    """Records are bytes: a client that decodes replies to str would corrupt them."""
    if getattr(client.get_encoder(), "decode_responses", False):
        raise CheckpointError("the Redis checkpointer needs a client with decode_responses=False")


def run_sync(client: SyncClient, op: Op[T], doing: str) -> T:
    try:
        batch = next(op)
        while True:
            batch = op.send(_execute_sync(client, batch, doing))
    except StopIteration as done:
        result: T = done.value
        return result


async def run_async(client: AsyncClient, op: Op[T], doing: str) -> T:
    try:
        batch = next(op)
        while True:
            batch = op.send(await _execute_async(client, batch, doing))
    except StopIteration as done:
        result: T = done.value
        return result


def stream_sync(client: SyncClient, stream: Stream[T], doing: str) -> Iterator[T]:
    replies: list[Any] | None = None
    while True:
        try:
            step = next(stream) if replies is None else stream.send(replies)
        except StopIteration:
            return
        if isinstance(step, Batch):
            replies = _execute_sync(client, step, doing)
        else:
            replies = []
            yield step


async def stream_async(client: AsyncClient, stream: Stream[T], doing: str) -> AsyncIterator[T]:
    replies: list[Any] | None = None
    while True:
        try:
            step = next(stream) if replies is None else stream.send(replies)
        except StopIteration:
            return
        if isinstance(step, Batch):
            replies = await _execute_async(client, step, doing)
        else:
            replies = []
            yield step


def _execute_sync(client: SyncClient, batch: Batch, doing: str) -> list[Any]:
    if not batch.commands:
        return []
    try:
        pipe = client.pipeline(transaction=batch.atomic)
        for command in batch.commands:
            pipe.execute_command(*command)
        return list(pipe.execute())
    except (RedisError, RedisClusterException) as error:
        raise CheckpointError(f"Redis failed to {doing}: {error}") from None


async def _execute_async(client: AsyncClient, batch: Batch, doing: str) -> list[Any]:
    if not batch.commands:
        return []
    try:
        pipe = client.pipeline(transaction=batch.atomic)
        for command in batch.commands:
            pipe.execute_command(*command)
        return list(await pipe.execute())
    except (RedisError, RedisClusterException) as error:
        raise CheckpointError(f"Redis failed to {doing}: {error}") from None
