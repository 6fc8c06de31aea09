"""What the Redis checkpointer does, as generators of command batches (see ``redis_io``).

The semantics follow LangGraph's ``InMemorySaver``: checkpoints without their channel
values, values stored once per (channel, version) as blobs, pending writes keyed by
(task id, index) with the special channels of ``WRITES_IDX_MAP`` overwriting and the
others kept first-come; ``list`` newest first per namespace, with ``before``, ``limit``
and an equality ``filter`` on metadata.
"""

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.checkpoint.records import (
    CheckpointRecord,
    WriteRecord,
    decode_blob,
    encode_blob,
    field,
)
from agent.runtime.checkpoint.redis_io import Batch, Command, Op, Stream
from agent.runtime.checkpoint.redis_keys import CheckpointKeys, ThreadKeys

PAGE = 100  # checkpoint ids (or thread ids) fetched per round trip when listing


class CheckpointOps:
    """The saver's operations for one key layout, serializer, TTL and retention."""

    def __init__(
        self,
        keys: CheckpointKeys,
        serde: SerializerProtocol,
        ttl_ms: int | None,
        keep_last: int | None,
    ) -> None:
        self.keys = keys
        self.serde = serde
        self.ttl_ms = ttl_ms
        self.keep_last = keep_last

    # Reading

    def get(self, config: RunnableConfig) -> Op[CheckpointTuple | None]:
        thread_id, ns = _thread_and_ns(config)
        keys = self.keys.thread(str(thread_id))
        checkpoint_id = get_checkpoint_id(config)
        if checkpoint_id:
            found = yield from self._load(keys, thread_id, ns, [checkpoint_id], None, 1)
            return found[0]._replace(config=config) if found else None
        replies = yield Batch([_newest(keys.ids(ns), "+", 1)])
        newest = _strs(replies[0])
        if not newest:
            return None
        found = yield from self._load(keys, thread_id, ns, newest, None, 1)
        return found[0] if found else None

    def listing(
        self,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Stream[CheckpointTuple]:
        budget = _Budget(limit)
        query = _Query(
            checkpoint_id=get_checkpoint_id(config) if config else None,
            before_id=get_checkpoint_id(before) if before else None,
            filter=filter or None,
            budget=budget,
        )
        if config is not None:
            thread_id = config["configurable"]["thread_id"]
            ns = config["configurable"].get("checkpoint_ns")
            yield from self._list_thread(thread_id, ns, query)
            return
        start = 0
        while not budget.spent:
            replies = yield Batch([("ZRANGE", self.keys.threads, start, start + PAGE - 1)])
            thread_ids = _strs(replies[0])
            for thread_id in thread_ids:
                yield from self._list_thread(thread_id, None, query)
            if len(thread_ids) < PAGE:
                return
            start += PAGE

    def _list_thread(
        self, thread_id: Any, ns: str | None, query: "_Query"
    ) -> Stream[CheckpointTuple]:
        if query.budget.spent:
            return
        keys = self.keys.thread(str(thread_id))
        if ns is None:
            replies = yield Batch([("ZRANGE", keys.namespaces, 0, -1)])
            namespaces = _strs(replies[0])
        else:
            namespaces = [ns]
        for namespace in namespaces:
            yield from self._list_namespace(keys, thread_id, namespace, query)

    def _list_namespace(
        self, keys: ThreadKeys, thread_id: Any, ns: str, query: "_Query"
    ) -> Stream[CheckpointTuple]:
        budget = query.budget
        if budget.spent:
            return
        if query.checkpoint_id:
            if query.before_id and query.checkpoint_id >= query.before_id:
                return
            found = yield from self._load(
                keys, thread_id, ns, [query.checkpoint_id], query.filter, budget.left
            )
            yield from budget.spend(found)
            return
        upper = f"({query.before_id}" if query.before_id else "+"
        while not budget.spent:
            size = budget.page(filtered=query.filter is not None)
            replies = yield Batch([_newest(keys.ids(ns), upper, size)])
            ids = _strs(replies[0])
            found = yield from self._load(keys, thread_id, ns, ids, query.filter, budget.left)
            yield from budget.spend(found)
            if len(ids) < size:
                return
            upper = f"({ids[-1]}"

    def _load(
        self,
        keys: ThreadKeys,
        thread_id: Any,
        ns: str,
        ids: Sequence[str],
        filter: Mapping[str, Any] | None,
        limit: int | None,
    ) -> Op[list[CheckpointTuple]]:
        """The tuples of these checkpoints (those that exist and match), in this order."""
        if not ids:
            return []
        replies = yield Batch([("HMGET", keys.checkpoints(ns), *ids)])
        chosen = self._choose(ids, replies[0], filter, limit)
        if not chosen:
            return []
        checkpoints = [self.serde.loads_typed(record.checkpoint) for _, record, _ in chosen]
        fields = sorted({f for c in checkpoints for f in _blob_fields(c["channel_versions"])})
        commands: list[Command] = [("HGETALL", keys.writes(ns, cid)) for cid, _, _ in chosen]
        if fields:
            commands.append(("HMGET", keys.blobs(ns), *fields))
        replies = yield Batch(commands)
        blobs = dict(zip(fields, replies[len(chosen)], strict=True)) if fields else {}
        return [
            self._tuple(thread_id, ns, cid, record, metadata, checkpoint, writes, blobs)
            for (cid, record, metadata), checkpoint, writes in zip(
                chosen, checkpoints, replies[: len(chosen)], strict=True
            )
        ]

    def _choose(
        self,
        ids: Sequence[str],
        raws: Sequence[bytes | None],
        filter: Mapping[str, Any] | None,
        limit: int | None,
    ) -> list[tuple[str, CheckpointRecord, CheckpointMetadata]]:
        chosen: list[tuple[str, CheckpointRecord, CheckpointMetadata]] = []
        for checkpoint_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                continue
            record = CheckpointRecord.decode(raw)
            metadata: dict[str, Any] = self.serde.loads_typed(record.metadata)
            if filter and not all(metadata.get(k) == v for k, v in filter.items()):
                continue
            chosen.append((checkpoint_id, record, cast(CheckpointMetadata, metadata)))
            if limit is not None and len(chosen) >= limit:
                break
        return chosen

    def _tuple(
        self,
        thread_id: Any,
        ns: str,
        checkpoint_id: str,
        record: CheckpointRecord,
        metadata: CheckpointMetadata,
        checkpoint: Checkpoint,
        raw_writes: Any,
        blobs: Mapping[str, bytes | None],
    ) -> CheckpointTuple:
        writes = sorted(
            (WriteRecord.decode(raw) for raw in _hash(raw_writes).values()),
            key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx),
        )
        parent = record.parent_id
        pending = [(w.task_id, w.channel, self.serde.loads_typed(w.value)) for w in writes]
        return CheckpointTuple(
            config=_config(thread_id, ns, checkpoint_id),
            checkpoint={**checkpoint, "channel_values": self._values(checkpoint, blobs)},
            metadata=metadata,
            parent_config=_config(thread_id, ns, parent) if parent else None,
            pending_writes=pending,
        )

    def _values(self, checkpoint: Checkpoint, blobs: Mapping[str, bytes | None]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for channel, version in checkpoint["channel_versions"].items():
            raw = blobs.get(field(channel, version))
            if raw is None:
                continue
            typed = decode_blob(raw)
            if typed[0] != "empty":
                values[channel] = self.serde.loads_typed(typed)
        return values

    # Writing

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Op[RunnableConfig]:
        thread_id, ns = _thread_and_ns(config)
        keys = self.keys.thread(str(thread_id))
        stored: dict[str, Any] = dict(checkpoint)
        values: dict[str, Any] = stored.pop("channel_values")
        full_metadata = get_checkpoint_metadata(config, metadata)
        run_id = str(full_metadata["run_id"]) if full_metadata.get("run_id") else None
        record = CheckpointRecord(
            checkpoint=self.serde.dumps_typed(stored),
            metadata=self.serde.dumps_typed(full_metadata),
            parent_id=config["configurable"].get("checkpoint_id"),
            run_id=run_id,
            blob_fields=_blob_fields(checkpoint["channel_versions"]),
        )
        blobs = {
            field(channel, version): encode_blob(
                self.serde.dumps_typed(values[channel]) if channel in values else ("empty", b"")
            )
            for channel, version in new_versions.items()
        }
        existing = yield from self._announce(keys, run_id)
        commands = self._put_commands(keys, ns, checkpoint["id"], record, blobs, existing)
        yield Batch(commands, atomic=True)
        if self.keep_last is not None:
            yield from self._trim(keys, ns, self.keep_last)
        return _config(thread_id, ns, checkpoint["id"])

    def _announce(self, keys: ThreadKeys, run_id: str | None) -> Op[set[str]]:
        """Index the thread (and its run); the thread's keys, when their TTL needs a refresh."""
        now = time.time()
        commands: list[Command] = [("ZADD", self.keys.threads, now, keys.thread_id)]
        if self.ttl_ms is not None:
            expired = now - self.ttl_ms / 1000
            commands.append(("ZREMRANGEBYSCORE", self.keys.threads, "-inf", f"({expired}"))
        if run_id:
            commands.append(("SADD", self.keys.run(run_id), keys.thread_id))
            commands += self._expire([self.keys.run(run_id)])
        if self.ttl_ms is None:
            yield Batch(commands)
            return set()
        replies = yield Batch([*commands, ("SMEMBERS", keys.registry)])
        return set(_strs(replies[-1]))

    def _put_commands(
        self,
        keys: ThreadKeys,
        ns: str,
        checkpoint_id: str,
        record: CheckpointRecord,
        blobs: Mapping[str, bytes],
        existing: set[str],
    ) -> list[Command]:
        created = [keys.namespaces, keys.runs, *keys.namespace_keys(ns)]
        commands: list[Command] = [
            ("HSET", keys.checkpoints(ns), checkpoint_id, record.encode()),
            ("ZADD", keys.ids(ns), 0, checkpoint_id),
            ("ZADD", keys.namespaces, "NX", time.time(), ns),
            ("SADD", keys.registry, *created),
        ]
        if blobs:
            commands.append(("HSET", keys.blobs(ns), *_flatten(blobs)))
        if record.run_id:
            commands.append(("SADD", keys.runs, record.run_id))
        return commands + self._expire([*existing, *created, keys.registry])

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Op[None]:
        thread_id, ns = _thread_and_ns(config)
        keys = self.keys.thread(str(thread_id))
        key = keys.writes(ns, config["configurable"]["checkpoint_id"])
        commands: list[Command] = []
        for idx, (channel, value) in enumerate(writes):
            write_idx = WRITES_IDX_MAP.get(channel, idx)
            typed = self.serde.dumps_typed(value)
            record = WriteRecord(task_id, channel, task_path, write_idx, typed)
            # special channels replace; the others keep the first write (a retried task)
            command = "HSET" if write_idx < 0 else "HSETNX"
            commands.append((command, key, field(task_id, write_idx), record.encode()))
        if not commands:
            return
        commands.append(("SADD", keys.registry, key))
        yield Batch(commands + self._expire([key, keys.registry]), atomic=True)

    def _expire(self, keys: Iterable[str]) -> list[Command]:
        if self.ttl_ms is None:
            return []
        return [("PEXPIRE", key, self.ttl_ms) for key in sorted(set(keys))]

    # Retention and deletion

    def _trim(self, keys: ThreadKeys, ns: str, keep: int) -> Op[None]:
        """Delete all but the newest ``keep`` checkpoints of a namespace.

        The blob fields are read before the ids, in one round trip: a blob that appears
        there belongs to a checkpoint that is among the ids, so it is never taken as unread.
        """
        replies = yield Batch([("ZCARD", keys.ids(ns))])
        if int(replies[0]) <= keep:
            return
        replies = yield Batch([("HKEYS", keys.blobs(ns)), _newest(keys.ids(ns), "+", -1)])
        blob_fields, ids = _strs(replies[0]), _strs(replies[1])
        kept, doomed = ids[:keep], ids[keep:]
        replies = yield Batch([("HMGET", keys.checkpoints(ns), *kept)])
        survivors = [CheckpointRecord.decode(raw) for raw in replies[0] if raw is not None]
        yield Batch(_removal(keys, ns, doomed, survivors, blob_fields), atomic=True)

    def prune(self, thread_ids: Sequence[str], strategy: str) -> Op[None]:
        if strategy not in ("keep_latest", "delete"):
            raise CheckpointError(f"unknown prune strategy {strategy!r}: use keep_latest or delete")
        for thread_id in thread_ids:
            if strategy == "delete":
                yield from self.delete_thread(thread_id)
                continue
            keys = self.keys.thread(str(thread_id))
            replies = yield Batch([("ZRANGE", keys.namespaces, 0, -1)])
            for ns in _strs(replies[0]):
                yield from self._trim(keys, ns, 1)

    def delete_thread(self, thread_id: str) -> Op[None]:
        keys = self.keys.thread(str(thread_id))
        replies = yield Batch(
            [
                ("SMEMBERS", keys.registry),
                ("ZRANGE", keys.namespaces, 0, -1),
                ("SMEMBERS", keys.runs),
            ]
        )
        doomed = {*_strs(replies[0]), keys.registry, keys.namespaces, keys.runs}
        for ns in _strs(replies[1]):
            doomed.update(keys.namespace_keys(ns))
        yield Batch([("DEL", *sorted(doomed))], atomic=True)
        runs = _strs(replies[2])
        unindex: list[Command] = [("ZREM", self.keys.threads, keys.thread_id)]
        yield Batch(unindex + [("SREM", self.keys.run(r), keys.thread_id) for r in runs])

    def delete_for_runs(self, run_ids: Sequence[str]) -> Op[None]:
        targets = sorted({str(r) for r in run_ids})
        if not targets:
            return
        replies = yield Batch([("SMEMBERS", self.keys.run(r)) for r in targets])
        thread_ids = sorted({t for reply in replies for t in _strs(reply)})
        for thread_id in thread_ids:
            yield from self._delete_runs_in_thread(self.keys.thread(thread_id), set(targets))
        yield Batch([("DEL", self.keys.run(r)) for r in targets])

    def _delete_runs_in_thread(self, keys: ThreadKeys, targets: set[str]) -> Op[None]:
        replies = yield Batch([("ZRANGE", keys.namespaces, 0, -1)])
        for ns in _strs(replies[0]):
            replies = yield Batch([("HKEYS", keys.blobs(ns)), ("HGETALL", keys.checkpoints(ns))])
            records = {_str(k): CheckpointRecord.decode(v) for k, v in _hash(replies[1]).items()}
            doomed = [cid for cid, record in records.items() if record.run_id in targets]
            if not doomed:
                continue
            survivors = [r for cid, r in records.items() if cid not in doomed]
            commands = _removal(keys, ns, doomed, survivors, _strs(replies[0]))
            yield Batch(commands, atomic=True)
        yield Batch([("SREM", keys.runs, *sorted(targets))])

    def copy_thread(self, source_id: str, target_id: str) -> Op[None]:
        source, target = self.keys.thread(str(source_id)), self.keys.thread(str(target_id))
        if source.base == target.base:
            return
        replies = yield Batch(
            [
                ("ZRANGE", source.namespaces, 0, -1),
                ("SMEMBERS", source.runs),
                ("SMEMBERS", target.registry),
            ]
        )
        namespaces, runs = _strs(replies[0]), _strs(replies[1])
        if not namespaces:
            return
        reads: list[Command] = []
        for ns in namespaces:
            reads += [("HGETALL", source.checkpoints(ns)), ("HGETALL", source.blobs(ns))]
        tables = yield Batch(reads)
        checkpoints = {ns: _hash(tables[2 * i]) for i, ns in enumerate(namespaces)}
        blobs = {ns: _hash(tables[2 * i + 1]) for i, ns in enumerate(namespaces)}
        ids = [(ns, _str(cid)) for ns in namespaces for cid in checkpoints[ns]]
        writes = yield Batch([("HGETALL", source.writes(ns, cid)) for ns, cid in ids])
        commands: list[Command] = []
        created = [target.namespaces, target.runs]
        for order, ns in enumerate(namespaces):
            commands.append(("ZADD", target.namespaces, "NX", time.time() + order * 1e-6, ns))
            commands += _copy_namespace(target, ns, checkpoints[ns], blobs[ns])
            created += target.namespace_keys(ns)
        for (ns, cid), table in zip(ids, writes, strict=True):
            if _hash(table):
                commands.append(("HSET", target.writes(ns, cid), *_flatten(_hash(table))))
                created.append(target.writes(ns, cid))
        if runs:
            commands.append(("SADD", target.runs, *runs))
        commands.append(("SADD", target.registry, *created))
        existing = _strs(replies[2])
        yield Batch(commands + self._expire([*existing, *created, target.registry]), atomic=True)
        index: list[Command] = [("ZADD", self.keys.threads, time.time(), target.thread_id)]
        for run_id in runs:
            index += [("SADD", self.keys.run(run_id), target.thread_id)]
            index += self._expire([self.keys.run(run_id)])
        yield Batch(index)


class _Budget:
    """What is left of a listing's ``limit`` (None: no limit)."""

    def __init__(self, limit: int | None) -> None:
        self.left = limit

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def page(self, *, filtered: bool) -> int:
        if filtered or self.left is None:
            return PAGE
        return min(self.left, PAGE)

    def spend(self, found: Sequence[CheckpointTuple]) -> Stream[CheckpointTuple]:
        for item in found:
            if self.spent:
                return
            if self.left is not None:
                self.left -= 1
            yield item


@dataclass(frozen=True)
class _Query:
    """What a listing asks for, beyond the thread and namespace."""

    checkpoint_id: str | None
    before_id: str | None
    filter: Mapping[str, Any] | None
    budget: _Budget


def _removal(
    keys: ThreadKeys,
    ns: str,
    doomed: Sequence[str],
    survivors: Sequence[CheckpointRecord],
    blob_fields: Sequence[str],
) -> list[Command]:
    """Delete these checkpoints, their writes and the blobs no survivor reads (one slot)."""
    needed = {f for record in survivors for f in record.blob_fields}
    unused = [f for f in blob_fields if f not in needed]
    writes = [keys.writes(ns, cid) for cid in doomed]
    commands: list[Command] = [
        ("HDEL", keys.checkpoints(ns), *doomed),
        ("ZREM", keys.ids(ns), *doomed),
        ("DEL", *writes),
        ("SREM", keys.registry, *writes),
    ]
    if unused:
        commands.append(("HDEL", keys.blobs(ns), *unused))
    if not survivors:
        commands += [
            ("DEL", *keys.namespace_keys(ns)),
            ("ZREM", keys.namespaces, ns),
            ("SREM", keys.registry, *keys.namespace_keys(ns)),
        ]
    return commands


def _copy_namespace(
    target: ThreadKeys, ns: str, checkpoints: Mapping[Any, bytes], blobs: Mapping[Any, bytes]
) -> list[Command]:
    commands: list[Command] = []
    if checkpoints:
        commands.append(("HSET", target.checkpoints(ns), *_flatten(checkpoints)))
        members = [x for cid in checkpoints for x in (0, cid)]
        commands.append(("ZADD", target.ids(ns), *members))
    if blobs:
        commands.append(("HSET", target.blobs(ns), *_flatten(blobs)))
    return commands


def _thread_and_ns(config: RunnableConfig) -> tuple[Any, str]:
    configurable = config["configurable"]
    return configurable["thread_id"], str(configurable.get("checkpoint_ns", ""))


def _config(thread_id: Any, ns: str, checkpoint_id: str) -> RunnableConfig:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}
    return {"configurable": configurable}


def _newest(ids_key: str, upper: str, count: int) -> Command:
    """The ``count`` newest checkpoint ids below ``upper`` (``+``: no bound; ``(id``: below id)."""
    return ("ZREVRANGEBYLEX", ids_key, upper, "-", "LIMIT", 0, count)


def _blob_fields(versions: ChannelVersions) -> list[str]:
    return [field(channel, version) for channel, version in versions.items()]


def _flatten(mapping: Mapping[Any, Any]) -> list[Any]:
    return [x for pair in mapping.items() for x in pair]


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _strs(reply: Any) -> list[str]:
    return [_str(v) for v in reply or ()]


def _hash(reply: Any) -> dict[Any, bytes]:
    """A HGETALL reply as a dict, whatever the protocol version gave."""
    if isinstance(reply, dict):
        return reply
    items = list(reply or ())
    return dict(zip(items[::2], items[1::2], strict=True))
