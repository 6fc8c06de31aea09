"""The built-in store's SQLite tables (``ticketing_*``) and the statements on them.

No transactions and no locking here: ``BuiltinTicketStore`` wraps every call in one.
"""

from collections.abc import Iterable
from typing import Any

import aiosqlite

from tools.errors import TicketingError, TicketNotFound
from tools.ticketing import builtin_records as records
from tools.ticketing.base import Comment, NewTicket, Ticket, TicketPriority, TicketStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ticketing_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ticketing_tickets (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    priority TEXT,
    requester_id TEXT NOT NULL,
    requester_email TEXT COLLATE NOCASE,
    requester_name TEXT,
    assignee_id TEXT,
    group_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticketing_by_email ON ticketing_tickets (requester_email);
CREATE INDEX IF NOT EXISTS ticketing_by_requester ON ticketing_tickets (requester_id);
CREATE TABLE IF NOT EXISTS ticketing_tags (
    ticket_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE TABLE IF NOT EXISTS ticketing_comments (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    body TEXT NOT NULL,
    public INTEGER NOT NULL,
    author_id TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ticketing_comments_by_ticket ON ticketing_comments (ticket_id);
CREATE TABLE IF NOT EXISTS ticketing_idempotency (
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    ticket_id TEXT,
    result TEXT NOT NULL,
    PRIMARY KEY (operation, key)
);
CREATE TABLE IF NOT EXISTS ticketing_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_CLEARED = (
    "DELETE FROM ticketing_tickets",
    "DELETE FROM ticketing_tags",
    "DELETE FROM ticketing_comments",
    "DELETE FROM ticketing_idempotency",
    "DELETE FROM ticketing_counters",
)
_BY_TICKET = (
    "DELETE FROM ticketing_tags WHERE ticket_id = ?",
    "DELETE FROM ticketing_comments WHERE ticket_id = ?",
    "DELETE FROM ticketing_idempotency WHERE ticket_id = ?",
    "DELETE FROM ticketing_tickets WHERE id = ?",
)
_TICKET = (
    "SELECT id, subject, status, priority, requester_email, requester_id, assignee_id,"
    " group_id, created_at, updated_at, requester_name FROM ticketing_tickets"
)
_BY_EMAIL = f"{_TICKET} WHERE requester_email = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"
_BY_REQUESTER = f"{_TICKET} WHERE requester_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?"
_COMMENTS = (
    "SELECT id, body, public, author_id, created_at FROM ticketing_comments"
    " WHERE ticket_id = ? ORDER BY rowid"
)
_INSERT_TICKET = (
    "INSERT INTO ticketing_tickets (id, subject, status, priority, requester_id,"
    " requester_email, requester_name, assignee_id, group_id, created_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_COMMENT = (
    "INSERT INTO ticketing_comments (id, ticket_id, body, public, author_id, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE ticketing_tickets SET status = COALESCE(?, status),"
    " priority = COALESCE(?, priority), assignee_id = COALESCE(?, assignee_id),"
    " group_id = COALESCE(?, group_id), updated_at = ? WHERE id = ?"
)
_HAND_OFF = (
    "UPDATE ticketing_tickets SET status = 'open', assignee_id = ?,"
    " group_id = COALESCE(?, group_id), priority = COALESCE(?, priority), updated_at = ?"
    " WHERE id = ?"
)
_NEXT = (
    "INSERT INTO ticketing_counters (name, value) VALUES (?, 1)"
    " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
)
_AT_LEAST = (
    "INSERT INTO ticketing_counters (name, value) VALUES (?, ?)"
    " ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)"
)
_TAKEN = {
    "ticket": "SELECT 1 FROM ticketing_tickets WHERE id = ?",
    "comment": "SELECT 1 FROM ticketing_comments WHERE id = ?",
}


async def prepare(connection: aiosqlite.Connection) -> None:
    """Create the tables when missing; refuse a schema this code does not read."""
    try:
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.executescript(_SCHEMA)
        await connection.execute(
            "INSERT OR IGNORE INTO ticketing_meta (key, value) VALUES ('schema_version', ?)",
            (str(records.SCHEMA_VERSION),),
        )
        async with connection.execute(
            "SELECT value FROM ticketing_meta WHERE key = 'schema_version'"
        ) as cursor:
            row = await cursor.fetchone()
        await connection.commit()
    except aiosqlite.Error as error:
        raise TicketingError(f"cannot prepare the ticket store: {error}") from None
    found = row[0] if row else "none"
    if found != str(records.SCHEMA_VERSION):
        raise TicketingError(
            f"ticket store schema version {found}; this deskhand reads {records.SCHEMA_VERSION}"
        )


class Tables:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.db = connection

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    # --- tickets -------------------------------------------------------------------------
    async def ticket(self, ticket_id: str) -> Ticket:
        rows = await self.all(f"{_TICKET} WHERE id = ?", (ticket_id,))
        if not rows:
            raise TicketNotFound(f"builtin: ticket {ticket_id!r} not found")
        return await self.from_row(rows[0])

    async def tickets_of(self, email: str | None, requester_id: str, limit: int) -> list[Ticket]:
        """Newest first: by e-mail (any case) when there is one, else by requester id."""
        sql, value = (_BY_EMAIL, email) if email else (_BY_REQUESTER, requester_id)
        return [await self.from_row(row) for row in await self.all(sql, (value, max(limit, 0)))]

    async def ticket_rows(self) -> list[aiosqlite.Row]:
        return await self.all(f"{_TICKET} ORDER BY rowid")

    async def from_row(self, row: aiosqlite.Row) -> Ticket:
        return Ticket(
            id=row[0],
            subject=row[1],
            status=TicketStatus(row[2]),
            priority=TicketPriority(row[3]) if row[3] else None,
            requester_email=row[4],
            requester_id=row[5],
            tags=await self.tags(row[0]),
            assignee_id=row[6],
            group_id=row[7],
            created_at=row[8],
            updated_at=row[9],
        )

    async def insert_ticket(self, ticket: NewTicket, at: str) -> str:
        ticket_id, requester = await self.next_id("ticket"), ticket.requester
        await self.db.execute(
            _INSERT_TICKET,
            (
                ticket_id,
                ticket.subject,
                TicketStatus.NEW.value,
                value(ticket.priority),
                requester.id,
                requester.email,
                requester.name,
                None,
                None,
                at,
                at,
            ),
        )
        return ticket_id

    async def update(
        self,
        ticket_id: str,
        status: TicketStatus | None,
        priority: TicketPriority | None,
        assignee_id: str | None,
        group_id: str | None,
        at: str,
    ) -> None:
        """Set what is given, keep what is None."""
        await self.db.execute(
            _UPDATE, (value(status), value(priority), assignee_id, group_id, at, ticket_id)
        )

    async def hand_off(
        self,
        ticket_id: str,
        assignee_id: str | None,
        group_id: str | None,
        priority: TicketPriority | None,
        at: str,
    ) -> None:
        """Open, assigned to ``assignee_id`` (None: nobody), in ``group_id`` (None: same)."""
        await self.db.execute(_HAND_OFF, (assignee_id, group_id, value(priority), at, ticket_id))

    async def touch(self, ticket_id: str, at: str) -> None:
        await self.db.execute(
            "UPDATE ticketing_tickets SET updated_at = ? WHERE id = ?", (at, ticket_id)
        )

    # --- tags and comments ---------------------------------------------------------------
    async def tags(self, ticket_id: str) -> tuple[str, ...]:
        rows = await self.all(
            "SELECT tag FROM ticketing_tags WHERE ticket_id = ? ORDER BY tag", (ticket_id,)
        )
        return tuple(row[0] for row in rows)

    async def add_tags(self, ticket_id: str, tags: Iterable[str]) -> None:
        await self.db.executemany(
            "INSERT OR IGNORE INTO ticketing_tags (ticket_id, tag) VALUES (?, ?)",
            [(ticket_id, tag) for tag in _clean(tags)],
        )

    async def remove_tags(self, ticket_id: str, tags: Iterable[str]) -> None:
        await self.db.executemany(
            "DELETE FROM ticketing_tags WHERE ticket_id = ? AND tag = ?",
            [(ticket_id, tag) for tag in _clean(tags)],
        )

    async def comments(self, ticket_id: str) -> list[Comment]:
        rows = await self.all(_COMMENTS, (ticket_id,))
        return [Comment(row[0], row[1], bool(row[2]), row[3], row[4]) for row in rows]

    async def insert_comment(
        self,
        ticket_id: str,
        body: str,
        public: bool,
        author_id: str | None,
        at: str,
        comment_id: str | None = None,
    ) -> Comment:
        comment_id = comment_id or await self.next_id("comment")
        await self.db.execute(
            _INSERT_COMMENT, (comment_id, ticket_id, body, int(public), author_id, at)
        )
        await self.count_past("comment", comment_id)
        return Comment(comment_id, body, public, author_id, at)

    # --- ids and keys --------------------------------------------------------------------
    async def next_id(self, kind: str) -> str:
        """The next free number of this kind ("ticket", "comment"), as a string."""
        while True:
            candidate = str((await self.all(_NEXT, (kind,)))[0][0])
            if not await self.all(_TAKEN[kind], (candidate,)):
                return candidate

    async def count_past(self, kind: str, given_id: str) -> None:
        """Numbers handed out later start after a numeric id given by a fixture."""
        if given_id.isdigit():
            await self.db.execute(_AT_LEAST, (kind, int(given_id)))

    async def first_result(self, operation: str, key: str) -> str | None:
        rows = await self.all(
            "SELECT result FROM ticketing_idempotency WHERE operation = ? AND key = ?",
            (operation, key),
        )
        return str(rows[0][0]) if rows else None

    async def keep_result(self, operation: str, key: str, ticket_id: str, result: str) -> None:
        await self.db.execute(
            "INSERT INTO ticketing_idempotency (operation, key, ticket_id, result)"
            " VALUES (?, ?, ?, ?)",
            (operation, key, ticket_id, result),
        )

    # --- whole store ---------------------------------------------------------------------
    async def record(self, row: aiosqlite.Row) -> records.TicketRecord:
        ticket = await self.from_row(row)
        return records.TicketRecord(
            id=ticket.id,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            requester=records.RequesterRecord(
                id=row[5], email=ticket.requester_email, name=row[10]
            ),
            tags=list(ticket.tags),
            assignee_id=ticket.assignee_id,
            group_id=ticket.group_id,
            comments=[
                records.CommentRecord(**vars(comment)) for comment in await self.comments(row[0])
            ],
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
        )

    async def clear(self) -> None:
        for statement in _CLEARED:
            await self.db.execute(statement)

    async def load(self, ticket: records.TicketRecord, at: str) -> None:
        """One fixture ticket with its tags and comments; ids given or counted."""
        ticket_id, created = ticket.id or await self.next_id("ticket"), ticket.created_at or at
        requester = ticket.requester
        await self.db.execute(
            _INSERT_TICKET,
            (
                ticket_id,
                ticket.subject,
                ticket.status.value,
                value(ticket.priority),
                requester.id,
                requester.email,
                requester.name,
                ticket.assignee_id,
                ticket.group_id,
                created,
                ticket.updated_at or created,
            ),
        )
        await self.count_past("ticket", ticket_id)
        await self.add_tags(ticket_id, ticket.tags)
        for c in ticket.comments:
            at = c.created_at or created
            await self.insert_comment(ticket_id, c.body, c.public, c.author_id, at, c.id)

    async def erase(self, email_or_id: str) -> int:
        rows = await self.all(
            "SELECT id, requester_id FROM ticketing_tickets"
            " WHERE requester_email = ? OR requester_id = ?",
            (email_or_id, email_or_id),
        )
        authors = {(email_or_id,), *((row[1],) for row in rows)}
        await self.db.executemany("DELETE FROM ticketing_comments WHERE author_id = ?", authors)
        for statement in _BY_TICKET:
            await self.db.executemany(statement, [(row[0],) for row in rows])
        return len(rows)


def value(member: TicketStatus | TicketPriority | None) -> str | None:
    return member.value if member is not None else None


def _clean(tags: Iterable[str]) -> list[str]:
    return sorted({tag.strip() for tag in tags if tag.strip()})
