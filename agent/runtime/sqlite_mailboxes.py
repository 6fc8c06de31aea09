"""Mailboxes for the embedded mode: messages and outbox in SQLite, leases in this process.

Messages survive a restart (the ready set is rebuilt from the tables on open); leases,
fences, heartbeats and the wake-up signal are in memory, since one process owns the
database: a holder here is a worker pool of this process, dead when it stops beating.
"""

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.runtime.models import (
    ApprovalRecord,
    ApprovalStatus,
    Claim,
    InboundMessage,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
)
from agent.runtime.sqlite import SqliteDatabase
from agent.runtime.stores import AcceptResult, ApprovalNotPending, RuntimeStoreError, StaleClaim

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mailbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mailbox_by_conversation ON mailbox (conversation_key, seq);
CREATE TABLE IF NOT EXISTS seen (
    conversation_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (conversation_key, message_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_key TEXT NOT NULL,
    item_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    UNIQUE (conversation_key, item_key)
);
CREATE TABLE IF NOT EXISTS customer_conversation (
    tenant TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    conversation_key TEXT NOT NULL,
    PRIMARY KEY (tenant, customer_id, conversation_key)
);
CREATE TABLE IF NOT EXISTS approval (
    id TEXT PRIMARY KEY,
    conversation_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS approval_by_status ON approval (status, created_at);
CREATE TABLE IF NOT EXISTS activity (
    conversation_key TEXT PRIMARY KEY,
    last_at REAL NOT NULL
);
"""

_PER_CONVERSATION_TABLES = (
    "mailbox",
    "seen",
    "outbox",
    "transcript",
    "conversation_state",
    "activity",
    "customer_conversation",
    "approval",
)


@dataclass
class _Lease:
    fence: int
    expires_at: float  # time.monotonic()
    holder: str = ""


class SqliteMailboxes:
    """The ``Mailboxes`` contract for one process over the embedded SQLite database."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database
        self._ready: dict[str, float] = {}  # conversation -> due (monotonic)
        self._waiting: dict[str, float] = {}  # conversation -> oldest arrival (wall clock)
        self._held: dict[str, str] = {}  # conversation -> message id given a holding reply
        self._leases: dict[str, _Lease] = {}
        self._fences: dict[str, int] = {}
        self._attempts: dict[str, int] = {}
        self._crashes: dict[str, int] = {}
        self._alive: dict[str, float] = {}  # worker -> until when its heartbeat vouches (monotonic)
        self._signal = asyncio.Event()

    @classmethod
    async def open(cls, database: SqliteDatabase) -> "SqliteMailboxes":
        mailboxes = cls(database)
        async with database.transaction() as db:
            await db.executescript(_SCHEMA)
        await mailboxes._restore()
        return mailboxes

    async def append(self, message: InboundMessage, delay_s: float) -> bool:
        async with self._database.transaction() as db:
            fresh = await _insert(db, message)
        self._schedule(message, fresh, delay_s)
        return fresh

    async def accept(
        self,
        dedupe_key: str,
        dedupe_ttl_s: int,
        messages: Sequence[InboundMessage],
        delay_s: float,
    ) -> AcceptResult:
        """``Intake.accept``: the claim and the messages in one transaction."""
        now = time.time()
        async with self._database.transaction() as db:
            await db.execute(
                "DELETE FROM dedupe WHERE key = ? AND expires_at <= ?", (dedupe_key, now)
            )
            async with db.execute(
                "INSERT OR IGNORE INTO dedupe (key, expires_at) VALUES (?, ?)",
                (dedupe_key, now + dedupe_ttl_s),
            ) as cursor:
                if cursor.rowcount != 1:
                    return AcceptResult(duplicate=True)
            fresh = [await _insert(db, message) for message in messages]
        for message, new in zip(messages, fresh, strict=True):
            self._schedule(message, new, delay_s)
        return AcceptResult(duplicate=False, fresh=tuple(fresh))

    def _schedule(self, message: InboundMessage, fresh: bool, delay_s: float) -> None:
        key = message.conversation_key
        now = time.monotonic()
        current = self._ready.get(key)
        if current is None or current > now:  # in its coalescing window (or held): push back
            self._ready[key] = now + delay_s if current is None else max(now + delay_s, current)
        # else it waits in line already: it keeps its place, the message joins its turn
        if fresh:
            self._waiting.setdefault(key, message.received_at)
        self._signal.set()

    async def claim(self, lease_s: float, limit: int, holder: str = "") -> Claim | None:
        now = time.monotonic()
        for key, due in sorted(self._ready.items(), key=lambda item: item[1]):
            if due > now:
                return None
            claim = await self.claim_key(key, lease_s, limit, holder)
            if claim is not None:
                return claim
        return None

    async def claim_key(
        self, conversation_key: str, lease_s: float, limit: int, holder: str = ""
    ) -> Claim | None:
        lease = self._leases.get(conversation_key)
        now = time.monotonic()
        if lease is not None and self._holds(lease, now):
            if conversation_key in self._ready:
                self._ready[conversation_key] = lease.expires_at
            return None
        # a holder that never let go (released) died: a crash, whether its lease ended or not
        counts = self._crashes if lease is not None and lease.holder else self._attempts
        fence = self._fences.get(conversation_key, 0) + 1
        self._fences[conversation_key] = fence
        self._leases[conversation_key] = _Lease(fence, now + lease_s, holder)
        if conversation_key in self._ready:
            self._ready[conversation_key] = now + lease_s
        counts[conversation_key] = counts.get(conversation_key, 0) + 1
        attempts = self._attempts.get(conversation_key, 0)
        crashes = self._crashes.get(conversation_key, 0)
        messages = await self._head(conversation_key, limit)
        return Claim(conversation_key, fence, messages, attempts, holder, crashes)

    async def heartbeat(self, holder: str, ttl_s: float) -> None:
        now = time.monotonic()
        self._alive[holder] = now + ttl_s
        dead = {worker for worker, until in self._alive.items() if until <= now}
        for key, lease in self._leases.items():
            if lease.holder in dead and lease.expires_at > now:
                self._ready[key] = self._ready_since_oldest(key, now)
        for worker in dead:
            del self._alive[worker]
        if dead:
            self._signal.set()

    def _ready_since_oldest(self, key: str, now: float) -> float:
        """Ready as of its oldest waiting message (monotonic clock): it keeps its place."""
        arrived = self._waiting.get(key)
        if arrived is None:
            return now
        return now - max(0.0, time.time() - arrived)

    def _holds(self, lease: _Lease, now: float) -> bool:
        """The lease still counts: not ended, and its holder (if it beats) alive."""
        alive = not lease.holder or self._alive.get(lease.holder, 0.0) > now
        return lease.expires_at > now and alive

    async def wait(self, timeout_s: float) -> None:
        if self._ready:
            timeout_s = min(timeout_s, max(min(self._ready.values()) - time.monotonic(), 0.0))
        if timeout_s <= 0:
            return
        self._signal.clear()
        try:
            await asyncio.wait_for(self._signal.wait(), timeout_s)
        except TimeoutError:
            return

    async def renew(self, claim: Claim, lease_s: float) -> None:
        lease = self._current(claim)
        lease.expires_at = time.monotonic() + lease_s
        if claim.conversation_key in self._ready:
            self._ready[claim.conversation_key] = lease.expires_at

    async def commit(self, claim: Claim, commit: TurnCommit) -> None:
        self._current(claim)
        key = claim.conversation_key
        async with self._database.transaction() as db:
            if commit.consumed:
                await db.execute(
                    "DELETE FROM mailbox WHERE seq IN (SELECT seq FROM mailbox "
                    "WHERE conversation_key = ? ORDER BY seq LIMIT ?)",
                    (key, commit.consumed),
                )
            for entry in commit.entries:
                await _append_entry(db, key, entry)
            for item in commit.outbox:
                await db.execute(
                    "INSERT OR IGNORE INTO outbox (conversation_key, item_key, payload) "
                    "VALUES (?, ?, ?)",
                    (key, item.key, _dump(item.to_dict())),
                )
            for record in commit.approvals:
                await db.execute(
                    "INSERT OR IGNORE INTO approval VALUES (?, ?, ?, ?, ?)",
                    (
                        record.id,
                        key,
                        record.status.value,
                        record.created_at,
                        _dump(record.to_dict()),
                    ),
                )
            if commit.state is not None:
                await db.execute(
                    "INSERT INTO conversation_state (conversation_key, state) VALUES (?, ?) "
                    "ON CONFLICT(conversation_key) DO UPDATE SET state = excluded.state",
                    (key, _dump(commit.state.to_dict())),
                )
            await _touch(db, key)
        if commit.consumed:
            self._attempts.pop(key, None)
            self._crashes.pop(key, None)
            self._held.pop(key, None)

    async def mark_delivered(self, conversation_key: str, item_key: str) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "UPDATE outbox SET delivered = 1 WHERE conversation_key = ? AND item_key = ?",
                (conversation_key, item_key),
            )

    async def undelivered(self, conversation_key: str) -> list[OutboxItem]:
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT payload FROM outbox WHERE conversation_key = ? AND delivered = 0 "
                "ORDER BY seq",
                (conversation_key,),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [OutboxItem.from_dict(json.loads(row[0])) for row in rows]

    async def release(self, claim: Claim, delay_s: float = 0.0) -> None:
        key = claim.conversation_key
        lease = self._leases.get(key)
        if lease is None or lease.fence != claim.fence:
            return
        del self._leases[key]
        self._ready.pop(key, None)
        head = await self._head(key, 1)
        if not head and not await self.undelivered(key):
            self._waiting.pop(key, None)
            # A message that landed during those reads was scheduled by its append, but
            # its arrival went with the pop (its append found the turn's entry still
            # there): read once more, so it keeps its place and its holding reply.
            head = await self._head(key, 1)
            if not head:
                return
        self._ready[key] = await self._due(key, delay_s, bool(head))
        if not head or head[0].message_id == self._held.get(key):
            self._waiting.pop(key, None)
        else:
            self._waiting[key] = head[0].received_at
        self._signal.set()

    async def overdue(self, waited_s: float) -> list[str]:
        cutoff = time.time() - waited_s
        return [key for key, arrived in self._waiting.items() if arrived <= cutoff]

    async def mark_held(self, conversation_key: str) -> None:
        head = await self._head(conversation_key, 1)
        if head:
            self._held[conversation_key] = head[0].message_id
        self._waiting.pop(conversation_key, None)

    async def depth(self) -> int:
        return len(self._waiting)

    async def customer_conversations(self, tenant: str, customer_id: str) -> list[str]:
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT conversation_key FROM customer_conversation "
                "WHERE tenant = ? AND customer_id = ? ORDER BY conversation_key",
                (tenant, customer_id),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [str(row[0]) for row in rows]

    async def erase(self, conversation_key: str) -> None:
        async with self._database.transaction() as db:
            for table in _PER_CONVERSATION_TABLES:
                await db.execute(
                    f"DELETE FROM {table} WHERE conversation_key = ?",  # noqa: S608 (fixed names)
                    (conversation_key,),
                )
        for memory in (self._ready, self._waiting, self._held, self._attempts, self._crashes):
            memory.pop(conversation_key, None)

    async def forget_customer(self, tenant: str, customer_id: str) -> None:
        async with self._database.transaction() as db:
            await db.execute(
                "DELETE FROM customer_conversation WHERE tenant = ? AND customer_id = ?",
                (tenant, customer_id),
            )

    async def approval(self, approval_id: str) -> ApprovalRecord | None:
        async with (
            self._database.transaction() as db,
            db.execute("SELECT record FROM approval WHERE id = ?", (approval_id,)) as cursor,
        ):
            row = await cursor.fetchone()
        return ApprovalRecord.from_dict(json.loads(row[0])) if row else None

    async def pending_approvals(self) -> list[ApprovalRecord]:
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT record FROM approval WHERE status = ? ORDER BY created_at LIMIT 200",
                (ApprovalStatus.PENDING.value,),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [ApprovalRecord.from_dict(json.loads(row[0])) for row in rows]

    async def decide(self, record: ApprovalRecord, decision: InboundMessage) -> ApprovalRecord:
        key = record.conversation_key
        async with self._database.transaction() as db:
            async with db.execute(
                "SELECT record FROM approval WHERE id = ?", (record.id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise RuntimeStoreError(f"approval {record.id} does not exist")
            stored = ApprovalRecord.from_dict(json.loads(row[0]))
            if stored.status is not ApprovalStatus.PENDING:
                raise ApprovalNotPending(stored)
            await db.execute(
                "UPDATE approval SET status = ?, record = ? WHERE id = ?",
                (record.status.value, _dump(record.to_dict()), record.id),
            )
            await db.execute(
                "INSERT INTO mailbox (conversation_key, message_id, received_at, payload) "
                "VALUES (?, ?, ?, ?)",
                (key, decision.message_id, decision.received_at, _dump(decision.to_dict())),
            )
        self._ready[key] = min(self._ready.get(key, time.monotonic()), time.monotonic())
        self._signal.set()
        return record

    async def expired(self, idle_s: float) -> list[str]:
        """Conversations with no activity for ``idle_s`` (retention; Redis uses key TTLs)."""
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT conversation_key FROM activity WHERE last_at < ?",
                (time.time() - idle_s,),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [str(row[0]) for row in rows]

    async def _due(self, conversation_key: str, delay_s: float, waiting: bool) -> float:
        """When a released conversation is ready: after ``delay_s``, or, for messages that
        came during its turn, as of the newest one's arrival (first come, first served)."""
        now = time.monotonic()
        if delay_s > 0 or not waiting:
            return now + delay_s
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT MAX(received_at) FROM mailbox WHERE conversation_key = ?",
                (conversation_key,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        newest = float(row[0]) if row and row[0] is not None else time.time()
        return min(now, now - (time.time() - newest))

    def _current(self, claim: Claim) -> _Lease:
        lease = self._leases.get(claim.conversation_key)
        if lease is None or lease.fence != claim.fence or lease.expires_at <= time.monotonic():
            raise StaleClaim(
                f"conversation {claim.conversation_key} changed hands (fence {claim.fence})"
            )
        return lease

    async def _head(self, conversation_key: str, limit: int) -> tuple[InboundMessage, ...]:
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT payload FROM mailbox WHERE conversation_key = ? ORDER BY seq LIMIT ?",
                (conversation_key, limit),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return tuple(InboundMessage.from_dict(json.loads(row[0])) for row in rows)

    async def _restore(self) -> None:
        """After a restart: every conversation with waiting messages or outbox is ready."""
        async with (
            self._database.transaction() as db,
            db.execute(
                "SELECT conversation_key, MIN(received_at) FROM mailbox GROUP BY conversation_key"
            ) as cursor,
        ):
            waiting = await cursor.fetchall()
        async with (
            self._database.transaction() as db,
            db.execute("SELECT DISTINCT conversation_key FROM outbox WHERE delivered = 0") as cur,
        ):
            undelivered = await cur.fetchall()
        now = time.monotonic()
        for key, arrived in waiting:
            self._ready[str(key)] = now
            self._waiting[str(key)] = float(arrived)
        for (key,) in undelivered:
            self._ready[str(key)] = now


async def _insert(db: Any, message: InboundMessage) -> bool:
    """Add the message unless its id was seen; False when it was."""
    key = message.conversation_key
    async with db.execute(
        "INSERT OR IGNORE INTO seen (conversation_key, message_id) VALUES (?, ?)",
        (key, message.message_id),
    ) as cursor:
        if cursor.rowcount != 1:
            return False
    await db.execute(
        "INSERT INTO mailbox (conversation_key, message_id, received_at, payload) "
        "VALUES (?, ?, ?, ?)",
        (key, message.message_id, message.received_at, _dump(message.to_dict())),
    )
    entry = message.transcript_entry()
    if entry is not None:
        await _append_entry(db, key, entry)
    await _touch(db, key)
    if message.customer.id:
        await db.execute(
            "INSERT OR IGNORE INTO customer_conversation VALUES (?, ?, ?)",
            (message.tenant, message.customer.id, key),
        )
    return True


async def _append_entry(db: Any, conversation_key: str, entry: TranscriptEntry) -> None:
    await db.execute(
        "INSERT INTO transcript (conversation_key, position, entry) "
        "SELECT ?, COALESCE(MAX(position) + 1, 0), ? FROM transcript WHERE conversation_key = ?",
        (conversation_key, _dump(entry.to_dict()), conversation_key),
    )


async def _touch(db: Any, conversation_key: str) -> None:
    await db.execute(
        "INSERT INTO activity (conversation_key, last_at) VALUES (?, ?) "
        "ON CONFLICT(conversation_key) DO UPDATE SET last_at = excluded.last_at",
        (conversation_key, time.time()),
    )


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
