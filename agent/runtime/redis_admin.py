"""The admin stores in Redis: API tokens (one hash each, an index by secret hash) and the
audit log (one stream: XADD only, so nothing rewrites an entry).

Every key carries the ``{admin}`` hash tag: one Redis Cluster slot for all of them.
"""

import json
import re
from typing import Any

from redis.exceptions import RedisError

from agent.runtime.admin_records import AdminToken, AuditEntry, AuditFilter, AuditPage
from agent.runtime.admin_stores import InvalidCursor
from agent.runtime.redis_connection import AsyncRedis
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.stores import RuntimeStoreError

_STREAM_ID = re.compile(r"^\d+-\d+$")
_SCAN_BATCH = 200
_SCAN_LIMIT = 5_000  # entries read per page at most; a sparse filter continues by cursor
_CLOCK_SKEW_S = 300.0  # ``at`` is the writer's clock, the stream id the server's


class RedisTokenStore:
    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        self._redis = client
        self._keys = keys

    async def add(self, token: AdminToken) -> None:
        fields = _token_fields(token)
        try:
            await self._redis.hset(self._token(token.id), mapping=fields)
            await self._redis.set(self._by_hash(token.secret_hash), token.id, nx=True)
            await self._redis.zadd(self._keys.admin("tokens"), {token.id: token.created_at})
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to store a token: {error}") from None

    async def by_hash(self, secret_hash: str) -> AdminToken | None:
        try:
            token_id = await self._redis.get(self._by_hash(secret_hash))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to look up a token: {error}") from None
        return await self.get(_text(token_id)) if token_id else None

    async def get(self, token_id: str) -> AdminToken | None:
        try:
            raw = await self._redis.hgetall(self._token(token_id))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read a token: {error}") from None
        return _token_from(raw) if raw else None

    async def all(self) -> list[AdminToken]:
        try:
            ids: Any = await self._redis.zrange(self._keys.admin("tokens"), 0, -1)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to list tokens: {error}") from None
        found = [await self.get(_text(token_id)) for token_id in ids]
        return [token for token in found if token is not None]

    async def revoke(self, token_id: str, at: float) -> AdminToken | None:
        key = self._token(token_id)
        try:
            if not await self._redis.exists(key):
                return None
            await self._redis.hsetnx(key, "revoked_at", repr(at))  # the first revocation stays
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to revoke a token: {error}") from None
        return await self.get(token_id)

    async def touch(self, token_id: str, at: float) -> None:
        key = self._token(token_id)
        try:
            if await self._redis.exists(key):  # tokens are never deleted: no race to lose
                await self._redis.hset(key, "last_used_at", repr(at))
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to record a token's use: {error}") from None

    def _token(self, token_id: str) -> str:
        return self._keys.admin(f"token:{token_id}")

    def _by_hash(self, secret_hash: str) -> str:
        return self._keys.admin(f"token-hash:{secret_hash}")


def _token_fields(token: AdminToken) -> dict[Any, Any]:
    """The immutable part as one JSON field; the two timestamps that change apart."""
    fixed = token.to_dict()
    revoked_at, last_used_at = fixed.pop("revoked_at"), fixed.pop("last_used_at")
    fields: dict[Any, Any] = {"record": json.dumps(fixed, separators=(",", ":"))}
    if revoked_at is not None:
        fields["revoked_at"] = repr(revoked_at)
    if last_used_at is not None:
        fields["last_used_at"] = repr(last_used_at)
    return fields


def _token_from(raw: dict[Any, Any]) -> AdminToken:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    data = json.loads(fields["record"])
    for name in ("revoked_at", "last_used_at"):
        data[name] = float(fields[name]) if name in fields else None
    return AdminToken.from_dict(data)


class RedisAuditLog:
    """The audit stream: XADD and XREVRANGE, nothing else touches it."""

    def __init__(self, client: AsyncRedis, keys: RedisKeys) -> None:
        self._redis = client
        self._key = keys.admin("audit")

    async def append(self, entry: AuditEntry) -> AuditEntry:
        data = entry.to_dict()
        data.pop("id")
        try:
            stream_id = await self._redis.xadd(self._key, {"e": json.dumps(data)})
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to append to the audit log: {error}") from None
        return AuditEntry.from_dict({**data, "id": _text(stream_id)})

    async def page(self, where: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
        if cursor is not None and not _STREAM_ID.match(cursor):
            raise InvalidCursor(f"cursor {cursor!r} is not one this listing handed out")
        upper = f"({cursor}" if cursor else "+"
        items: list[AuditEntry] = []
        scanned = 0
        while scanned < _SCAN_LIMIT:
            batch = await self._read(upper, _SCAN_BATCH)
            for stream_id, entry in batch:
                scanned += 1
                upper = f"({stream_id}"
                if where.since is not None and entry.at < where.since - _CLOCK_SKEW_S:
                    return AuditPage(items, None)  # older than asked, for sure: the end
                if where.matches(entry):
                    items.append(entry)
                    if len(items) == limit:
                        return AuditPage(items, stream_id if await self._older(upper) else None)
            if len(batch) < _SCAN_BATCH:
                return AuditPage(items, None)
        return AuditPage(items, upper[1:])

    async def _read(self, upper: str, count: int) -> list[tuple[str, AuditEntry]]:
        try:
            raw: Any = await self._redis.xrevrange(self._key, max=upper, min="-", count=count)
        except RedisError as error:
            raise RuntimeStoreError(f"Redis failed to read the audit log: {error}") from None
        return [
            (sid, AuditEntry.from_dict({**json.loads(_field(fields, "e")), "id": sid}))
            for sid, fields in ((_text(stream_id), fields) for stream_id, fields in raw)
        ]

    async def _older(self, upper: str) -> bool:
        return bool(await self._read(upper, 1))


def _field(fields: dict[Any, Any], name: str) -> str:
    return _text(fields[name.encode()] if name.encode() in fields else fields[name])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
