"""What only the Redis checkpointer promises: TTL, retention, schema versions, one slot per
thread, both APIs, errors translated; plus the record format and the factory."""

import json
import operator
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
import redis
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from redis.asyncio import Redis
from redis.crc import key_slot

from agent.errors import DeskhandError
from agent.runtime.checkpoint import (
    CheckpointError,
    RedisCheckpointSaver,
    SqliteCheckpointSaver,
    open_checkpointer,
    open_redis_checkpointer,
)
from agent.runtime.checkpoint.records import CheckpointRecord, pack, unpack
from agent.runtime.checkpoint.redis_keys import hash_tag
from agent.runtime.stores import RuntimeStoreError
from tests.support.redis_server import free_port

TTL_S = 60.0


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator["redis.Redis[bytes]"]:
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def make_saver(
    redis_client: "Redis[bytes]", sync_redis: "redis.Redis[bytes]", redis_prefix: str
) -> Any:
    def make(**options: Any) -> RedisCheckpointSaver:
        return RedisCheckpointSaver(
            redis_client, sync_client=sync_redis, prefix=redis_prefix, **options
        )

    return make


def _config(thread_id: str, ns: str = "", checkpoint_id: str | None = None) -> Any:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _checkpoint(values: dict[str, Any], versions: dict[str, Any]) -> Checkpoint:
    checkpoint = empty_checkpoint()
    checkpoint.update(id=str(uuid6(clock_seq=-1)), v=1)
    checkpoint["channel_values"] = values
    checkpoint["channel_versions"] = versions
    return checkpoint


async def _put_steps(saver: RedisCheckpointSaver, thread_id: str, steps: int) -> list[Any]:
    """Checkpoints where ``step`` changes each time and ``constant`` never does."""
    stored: list[Any] = []
    for step in range(steps):
        parent = stored[-1]["configurable"]["checkpoint_id"] if stored else None
        versions = {"constant": 1, "step": step + 1}
        new_versions = {"step": step + 1, **({"constant": 1} if step == 0 else {})}
        checkpoint = _checkpoint({"constant": "c", "step": step}, versions)
        metadata: Any = {"source": "loop", "step": step, "parents": {}, "run_id": "run-1"}
        config = await saver.aput(
            _config(thread_id, "", parent), checkpoint, metadata, new_versions
        )
        await saver.aput_writes(config, [("out", f"w{step}")], f"task-{step}")
        stored.append(config)
    return stored


def _keys(client: "redis.Redis[bytes]", pattern: str) -> list[str]:
    return sorted(k.decode() for k in client.scan_iter(match=pattern, count=500))


def _thread_keys(client: "redis.Redis[bytes]", prefix: str, thread_id: str) -> list[str]:
    literal = "".join(
        f"\\{c}" if c in "\\*?[]" else c for c in f"{prefix}cp:{{{hash_tag(thread_id)}}}:"
    )
    return _keys(client, f"{literal}*")


# --- TTL ----------------------------------------------------------------------------------


@pytest.mark.redis
async def test_every_key_of_a_thread_expires_and_each_put_refreshes_them(
    make_saver: Any, sync_redis: "redis.Redis[bytes]", redis_prefix: str
) -> None:
    saver = make_saver(ttl_s=TTL_S)
    stored = await _put_steps(saver, "conv-1", 2)
    keys = _thread_keys(sync_redis, redis_prefix, "conv-1")
    assert len(keys) >= 7  # registry, namespaces, runs, ids, checkpoints, blobs, writes...
    for key in keys:
        assert 0 < sync_redis.pttl(key) <= TTL_S * 1000, key
    assert 0 < sync_redis.pttl(f"{redis_prefix}cp:run:run-1") <= TTL_S * 1000

    for key in keys:
        sync_redis.pexpire(key, 5_000)
    await _put_steps(saver, "conv-1", 1)
    for key in keys:
        assert sync_redis.pttl(key) > 30_000, key
    assert stored


@pytest.mark.redis
async def test_without_a_ttl_nothing_expires(
    make_saver: Any, sync_redis: "redis.Redis[bytes]", redis_prefix: str
) -> None:
    await _put_steps(make_saver(), "conv-1", 1)
    for key in _thread_keys(sync_redis, redis_prefix, "conv-1"):
        assert sync_redis.pttl(key) == -1, key


# --- retention ----------------------------------------------------------------------------


@pytest.mark.redis
async def test_keep_last_deletes_old_checkpoints_their_writes_and_unread_blobs(
    make_saver: Any, sync_redis: "redis.Redis[bytes]", redis_prefix: str
) -> None:
    saver = make_saver(keep_last=2)
    stored = await _put_steps(saver, "conv-1", 5)
    keys = saver.keys.thread("conv-1")

    listed = [t async for t in saver.alist(_config("conv-1"))]
    assert [t.config for t in listed] == stored[:2:-1]
    assert [t.checkpoint["channel_values"] for t in listed] == [
        {"constant": "c", "step": 4},  # "constant" was written once, by the first checkpoint
        {"constant": "c", "step": 3},
    ]
    assert [t.pending_writes for t in listed] == [
        [("task-4", "out", "w4")],
        [("task-3", "out", "w3")],
    ]
    blob_fields = sorted(f.decode() for f in sync_redis.hkeys(keys.blobs("")))
    assert blob_fields == ['["constant",1]', '["step",4]', '["step",5]']
    writes_keys = [k for k in _thread_keys(sync_redis, redis_prefix, "conv-1") if ":writes:" in k]
    assert len(writes_keys) == 2
    assert sorted(m.decode() for m in sync_redis.smembers(keys.registry) if b":writes:" in m) == (
        writes_keys
    )


@pytest.mark.redis
async def test_prune_keep_latest_keeps_one_checkpoint_per_namespace(make_saver: Any) -> None:
    saver = make_saver()
    await _put_steps(saver, "conv-1", 3)
    await saver.aprune(["conv-1"])
    assert len([t async for t in saver.alist(_config("conv-1"))]) == 1
    with pytest.raises(CheckpointError, match="unknown prune strategy"):
        await saver.aprune(["conv-1"], strategy="oldest")


# --- schema version -----------------------------------------------------------------------


@pytest.mark.redis
async def test_every_stored_record_carries_the_schema_version(
    make_saver: Any, sync_redis: "redis.Redis[bytes]"
) -> None:
    saver = make_saver()
    stored = await _put_steps(saver, "conv-1", 1)
    keys = saver.keys.thread("conv-1")
    checkpoint_id = stored[0]["configurable"]["checkpoint_id"]
    records = [
        sync_redis.hget(keys.checkpoints(""), checkpoint_id),
        *sync_redis.hvals(keys.blobs("")),
        *sync_redis.hvals(keys.writes("", checkpoint_id)),
    ]
    assert len(records) == 4
    for raw in records:
        assert raw is not None
        assert json.loads(raw.partition(b"\n")[0])["v"] == 1


@pytest.mark.redis
async def test_a_record_of_a_newer_schema_is_refused_clearly(
    make_saver: Any, sync_redis: "redis.Redis[bytes]"
) -> None:
    saver = make_saver()
    stored = await _put_steps(saver, "conv-1", 1)
    key, checkpoint_id = (
        saver.keys.thread("conv-1").checkpoints(""),
        stored[0]["configurable"]["checkpoint_id"],
    )
    raw = sync_redis.hget(key, checkpoint_id)
    assert raw is not None
    line, _, body = raw.partition(b"\n")
    header = {**json.loads(line), "v": 2}
    sync_redis.hset(key, checkpoint_id, json.dumps(header).encode() + b"\n" + body)

    with pytest.raises(CheckpointError, match="schema version 2, newer than the 1"):
        await saver.aget_tuple(_config("conv-1"))
    assert issubclass(CheckpointError, RuntimeStoreError)
    assert issubclass(CheckpointError, DeskhandError)


def test_records_reject_what_they_cannot_read() -> None:
    record = pack("blob", {"type": "json"}, b"{}")
    assert unpack(record, "blob")[1] == [b"{}"]
    for broken, reason in [
        (b"not json\n", "not readable"),
        (pack("blob", {}, b"abc")[:-1], "truncated"),
        (json.dumps({"kind": "blob", "sizes": []}).encode() + b"\n", "no valid schema version"),
        (pack("write", {}, b""), "expected a blob record"),
    ]:
        with pytest.raises(CheckpointError, match=reason):
            unpack(broken, "blob")
    with pytest.raises(CheckpointError, match="lacks its 'checkpoint_type'"):
        CheckpointRecord.decode(pack("checkpoint", {}, b"", b""))


# --- Redis Cluster: one slot per thread ---------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize("thread_id", ["demo:generic:c-1", "odd}{id", "", "%7D", "a}"])
async def test_every_key_of_a_thread_hashes_to_one_slot(
    make_saver: Any, sync_redis: "redis.Redis[bytes]", redis_prefix: str, thread_id: str
) -> None:
    saver = make_saver(ttl_s=TTL_S)
    stored = await _put_steps(saver, thread_id, 2)
    await _put_steps(saver, thread_id, 1)
    await saver.acopy_thread(thread_id, f"{thread_id}-copy")

    keys = _thread_keys(sync_redis, redis_prefix, thread_id)
    assert {key_slot(k.encode()) for k in keys} == {
        key_slot(saver.keys.thread(thread_id).registry.encode())
    }
    assert len(keys) >= 7
    found = await saver.aget_tuple(_config(thread_id))
    assert found is not None and found.config["configurable"]["thread_id"] == thread_id
    assert stored


@pytest.mark.redis
async def test_thread_ids_that_only_differ_by_escaping_stay_apart(make_saver: Any) -> None:
    saver = make_saver()
    await _put_steps(saver, "a}", 1)
    await _put_steps(saver, "a%7D", 2)
    assert len([t async for t in saver.alist(_config("a}"))]) == 1
    assert len([t async for t in saver.alist(_config("a%7D"))]) == 2
    threads = {t.config["configurable"]["thread_id"] async for t in saver.alist(None)}
    assert threads == {"a}", "a%7D"}


# --- sync and async APIs ------------------------------------------------------------------


@pytest.mark.redis
def test_the_sync_api_reads_what_it_wrote(make_saver: Any) -> None:
    saver = make_saver(keep_last=3)
    config = saver.put(
        _config("conv-1"),
        _checkpoint({"x": 1}, {"x": 1}),
        {"source": "input", "step": -1},
        {"x": 1},
    )
    saver.put_writes(config, [("x", 2)], "task")
    found = saver.get_tuple(_config("conv-1"))
    assert found is not None
    assert found.checkpoint["channel_values"] == {"x": 1}
    assert found.pending_writes == [("task", "x", 2)]
    assert [t.config for t in saver.list(_config("conv-1"), filter={"source": "input"})] == [config]
    saver.copy_thread("conv-1", "conv-2")
    saver.delete_for_runs(["nothing"])
    saver.prune(["conv-2"])
    saver.delete_thread("conv-1")
    assert saver.get_tuple(_config("conv-1")) is None
    assert saver.get_tuple(_config("conv-2")) is not None


@pytest.mark.redis
def test_sync_calls_without_a_sync_client_say_what_to_do(
    redis_client: "Redis[bytes]", redis_prefix: str
) -> None:
    saver = RedisCheckpointSaver(redis_client, prefix=redis_prefix)
    with pytest.raises(CheckpointError, match="no sync client"):
        saver.get_tuple(_config("conv-1"))
    with pytest.raises(CheckpointError, match="no sync client"):
        saver.list(None)


class Turn(TypedDict):
    messages: Annotated[list[str], operator.add]


def _ask_first(state: Turn) -> dict[str, list[str]]:
    answer = interrupt("approve?")
    return {"messages": [f"operator said {answer}"]}


def _sync_graph(saver: RedisCheckpointSaver) -> Any:
    builder = StateGraph(Turn)
    builder.add_node("approval", _ask_first)
    builder.add_edge(START, "approval")
    builder.add_edge("approval", END)
    return builder.compile(checkpointer=saver)


@pytest.mark.redis
def test_a_sync_graph_resumes_on_another_saver_instance(
    redis_url: str, redis_prefix: str, make_saver: Any
) -> None:
    config = {"configurable": {"thread_id": "demo:generic:c-9"}}
    paused = _sync_graph(make_saver()).invoke({"messages": ["refund"]}, config)
    assert paused["__interrupt__"][0].value == "approve?"

    async_client: Redis = Redis.from_url(redis_url)  # never used: sync calls only
    with redis.Redis.from_url(redis_url) as other_client:
        other = RedisCheckpointSaver(async_client, sync_client=other_client, prefix=redis_prefix)
        resumed = _sync_graph(other).invoke(Command(resume="yes"), config)
    assert resumed["messages"] == ["refund", "operator said yes"]


def test_versions_increase_like_the_in_memory_savers() -> None:
    saver = RedisCheckpointSaver(Redis())  # no I/O
    first = saver.get_next_version(None, None)
    second = saver.get_next_version(first, None)
    assert first < second and second.split(".")[0] == f"{2:032}"
    assert saver.get_next_version(7, None).startswith(f"{8:032}.")
    assert InMemorySaver().get_next_version(first, None).split(".")[0] == second.split(".")[0]


# --- failures -----------------------------------------------------------------------------


@pytest.fixture
async def unreachable() -> AsyncIterator[tuple["Redis[bytes]", "redis.Redis[bytes]", str]]:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    options: dict[str, Any] = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}
    async_client: Redis[bytes] = Redis.from_url(url, **options)
    sync_client: redis.Redis[bytes] = redis.Redis.from_url(url, **options)
    yield async_client, sync_client, url
    await async_client.aclose()
    sync_client.close()


async def test_a_redis_that_is_down_raises_checkpoint_error(
    unreachable: tuple["Redis[bytes]", "redis.Redis[bytes]", str],
) -> None:
    async_client, sync_client, url = unreachable
    saver = RedisCheckpointSaver(async_client, sync_client=sync_client)
    with pytest.raises(CheckpointError, match="Redis failed to read a checkpoint"):
        await saver.aget_tuple(_config("conv-1"))
    with pytest.raises(CheckpointError, match="Redis failed to store a checkpoint"):
        await saver.aput(_config("conv-1"), _checkpoint({}, {}), {}, {})
    with pytest.raises(CheckpointError, match="Redis failed to list checkpoints"):
        [t async for t in saver.alist(None)]
    with pytest.raises(CheckpointError, match="Redis failed to read a checkpoint"):
        saver.get_tuple(_config("conv-1"))
    with pytest.raises(CheckpointError, match="cannot be reached"):
        async with open_redis_checkpointer(url, timeout_s=0.2):
            pass


def test_bad_options_are_refused() -> None:
    client = Redis()
    with pytest.raises(CheckpointError, match="decode_responses=False"):
        RedisCheckpointSaver(Redis(decode_responses=True))
    with pytest.raises(CheckpointError, match="must not hold braces"):
        RedisCheckpointSaver(client, prefix="{app}:")
    with pytest.raises(CheckpointError, match="TTL must be positive"):
        RedisCheckpointSaver(client, ttl_s=0)
    with pytest.raises(CheckpointError, match="keep_last"):
        RedisCheckpointSaver(client, keep_last=0)


# --- the factory --------------------------------------------------------------------------


async def test_the_factory_opens_memory_and_sqlite_savers(tmp_path: Path) -> None:
    async with open_checkpointer("memory") as memory:
        assert isinstance(memory, InMemorySaver)
    path = tmp_path / "nested" / "checkpoints.sqlite3"
    async with open_checkpointer("sqlite", path=path, keep_last=2) as sqlite:
        assert isinstance(sqlite, SqliteCheckpointSaver) and sqlite.keep_last == 2
    assert path.exists()
    with pytest.raises(CheckpointError, match="needs a file path"):
        async with open_checkpointer("sqlite"):
            pass
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="cannot be opened"):
        async with open_checkpointer("sqlite", path=blocker / "checkpoints.sqlite3"):
            pass
    with pytest.raises(CheckpointError, match="unknown checkpointer kind"):
        async with open_checkpointer("postgres"):
            pass


@pytest.mark.redis
async def test_the_factory_opens_a_redis_saver_and_closes_its_clients(
    redis_url: str, redis_prefix: str
) -> None:
    options = {"prefix": redis_prefix, "ttl_s": TTL_S, "with_sync_client": True}
    async with open_checkpointer("redis", url=redis_url, keep_last=5, **options) as saver:
        assert isinstance(saver, RedisCheckpointSaver)
        assert (saver.keep_last, saver.ttl_ms) == (5, 60_000)
        assert saver.sync_client is not None
        thread_id = uuid.uuid4().hex
        await saver.aput(_config(thread_id), _checkpoint({}, {}), {}, {})
        assert saver.get_tuple(_config(thread_id)) is not None
