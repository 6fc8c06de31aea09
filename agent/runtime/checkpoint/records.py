"""How checkpoints, pending writes and channel blobs are stored: one bytes value per record.

A record is a JSON header line (schema version ``v``, the record's kind, small fields, the
sizes of its payloads), a newline, then the payloads as raw bytes. The payloads are what
the saver's serializer produced (``serde.dumps_typed``); the header is readable without it,
which is what retention uses to find the blobs a checkpoint still needs.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.runtime.checkpoint.errors import CheckpointError

SCHEMA_VERSION = 1

Typed = tuple[str, bytes]


def pack(kind: str, header: Mapping[str, Any], *payloads: bytes) -> bytes:
    """One record: the header line (with ``v``, ``kind`` and payload sizes), then payloads."""
    head = {"v": SCHEMA_VERSION, "kind": kind, **header, "sizes": [len(p) for p in payloads]}
    line = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
    return b"\n".join([line, b"".join(payloads)])


def unpack(raw: bytes, kind: str) -> tuple[dict[str, Any], list[bytes]]:
    """The header and payloads of a record; CheckpointError if it is not one we can read."""
    line, _, body = raw.partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise CheckpointError(f"a stored {kind} record is not readable") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"a stored {kind} record is not readable")
    _check_version(header.get("v"), kind)
    if header.get("kind") != kind:
        raise CheckpointError(f"expected a {kind} record, found {header.get('kind')!r}")
    return header, _split(body, header.get("sizes"), kind)


def _check_version(version: object, kind: str) -> None:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"a stored {kind} record has no valid schema version")
    if version > SCHEMA_VERSION:
        raise CheckpointError(
            f"a stored {kind} record has schema version {version}, newer than the "
            f"{SCHEMA_VERSION} this deskhand reads; upgrade deskhand"
        )


def _split(body: bytes, sizes: object, kind: str) -> list[bytes]:
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise CheckpointError(f"a stored {kind} record has no valid payload sizes")
    if sum(sizes) != len(body):
        raise CheckpointError(f"a stored {kind} record is truncated")
    parts, start = [], 0
    for size in sizes:
        parts.append(body[start : start + size])
        start += size
    return parts


def field(*parts: str | int | float) -> str:
    """A hash field (or key suffix) naming several values without ambiguity."""
    return json.dumps(list(parts), ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint without its channel values (those are blobs), with its metadata."""

    checkpoint: Typed
    metadata: Typed
    parent_id: str | None
    run_id: str | None
    blob_fields: Sequence[str]  # the blobs this checkpoint reads, as ``field(channel, version)``

    def encode(self) -> bytes:
        header = {
            "checkpoint_type": self.checkpoint[0],
            "metadata_type": self.metadata[0],
            "parent_id": self.parent_id,
            "run_id": self.run_id,
            "blobs": list(self.blob_fields),
        }
        return pack("checkpoint", header, self.checkpoint[1], self.metadata[1])

    @classmethod
    def decode(cls, raw: bytes) -> "CheckpointRecord":
        header, (checkpoint, metadata) = _unpack_n(raw, "checkpoint", 2)
        return cls(
            checkpoint=(_required(header, "checkpoint_type", "checkpoint"), checkpoint),
            metadata=(_required(header, "metadata_type", "checkpoint"), metadata),
            parent_id=_optional_str(header.get("parent_id")),
            run_id=_optional_str(header.get("run_id")),
            blob_fields=[str(f) for f in header.get("blobs", [])],
        )


@dataclass(frozen=True)
class WriteRecord:
    """One pending write of a task, against one checkpoint."""

    task_id: str
    channel: str
    task_path: str
    idx: int  # position in its put_writes call; negative for special channels (WRITES_IDX_MAP)
    value: Typed

    def encode(self) -> bytes:
        header = {
            "task_id": self.task_id,
            "channel": self.channel,
            "task_path": self.task_path,
            "idx": self.idx,
            "type": self.value[0],
        }
        return pack("write", header, self.value[1])

    @classmethod
    def decode(cls, raw: bytes) -> "WriteRecord":
        header, (value,) = _unpack_n(raw, "write", 1)
        return cls(
            task_id=_required(header, "task_id", "write"),
            channel=_required(header, "channel", "write"),
            task_path=str(header.get("task_path", "")),
            idx=_required_int(header, "idx", "write"),
            value=(_required(header, "type", "write"), value),
        )


def encode_blob(value: Typed) -> bytes:
    return pack("blob", {"type": value[0]}, value[1])


def decode_blob(raw: bytes) -> Typed:
    header, (value,) = _unpack_n(raw, "blob", 1)
    return _required(header, "type", "blob"), value


def _unpack_n(raw: bytes, kind: str, count: int) -> tuple[dict[str, Any], list[bytes]]:
    header, payloads = unpack(raw, kind)
    if len(payloads) != count:
        raise CheckpointError(f"a stored {kind} record has {len(payloads)} payloads, not {count}")
    return header, payloads


def _required(header: Mapping[str, Any], name: str, kind: str) -> str:
    value = header.get(name)
    if not isinstance(value, str):
        raise CheckpointError(f"a stored {kind} record lacks its {name!r}")
    return value


def _required_int(header: Mapping[str, Any], name: str, kind: str) -> int:
    value = header.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CheckpointError(f"a stored {kind} record lacks its {name!r}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)
