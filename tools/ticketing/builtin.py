"""The built-in ticket store: SQLite, the embedded default and the generic channel's tickets.

Its own tables (``ticketing_*``, see ``builtin_tables``) in the database file it is given.
Ids are strings, counted per store. Every write keeps its idempotency key with its first
result, in the same transaction as the write: a repeated key returns that result and writes
nothing. ``snapshot()`` and ``seed()`` give and load the whole store as canonical data (the
shape is in ``builtin_records``); ``erase_customer()`` serves GDPR erasure.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from tools.context import Customer
from tools.errors import TicketingError
from tools.ticketing import builtin_records as records
from tools.ticketing.base import (
    Comment,
    Handoff,
    NewTicket,
    Ticket,
    TicketingBackend,
    TicketUpdate,
    handoff_note,
)
from tools.ticketing.builtin_tables import Tables, prepare

Clock = Callable[[], datetime]
T = TypeVar("T")


class BuiltinTicketStore(TicketingBackend):
    """``await BuiltinTicketStore.open(path)``; ``aclose()`` when done."""

    name = "builtin"

    def __init__(
        self,
        connection: aiosqlite.Connection,
        *,
        clock: Clock | None = None,
        bot_author_id: str | None = "deskhand",
        handoff_group_id: str | None = None,
    ) -> None:
        self._db = connection
        self._tables = Tables(connection)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._times_injected = clock is not None
        self._bot_author_id = bot_author_id
        self._handoff_group_id = handoff_group_id
        self._lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Clock | None = None,
        bot_author_id: str | None = "deskhand",
        handoff_group_id: str | None = None,
    ) -> "BuiltinTicketStore":
        """Open (creating when needed) the store's tables in the SQLite file ``path``.

        ``clock`` fixes the timestamps (and puts them in ``snapshot()``); ``bot_author_id``
        signs the bot's comments; ``handoff_group_id`` is where a hand-off without a group
        goes (none: the ticket keeps its group).
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(path, timeout=10.0)
        except (OSError, aiosqlite.Error) as error:
            raise TicketingError(f"cannot open the ticket store {path}: {error}") from None
        try:
            await prepare(connection)
        except BaseException:
            await connection.close()
            raise
        return cls(
            connection,
            clock=clock,
            bot_author_id=bot_author_id,
            handoff_group_id=handoff_group_id,
        )

    async def aclose(self) -> None:
        await self._db.close()

    # --- reads ---------------------------------------------------------------------------
    async def get_ticket(self, ticket_id: str) -> Ticket:
        async with self._transaction() as tables:
            return await tables.ticket(ticket_id)

    async def list_comments(self, ticket_id: str) -> list[Comment]:
        async with self._transaction() as tables:
            await tables.ticket(ticket_id)
            return await tables.comments(ticket_id)

    async def list_customer_tickets(self, customer: Customer, limit: int = 20) -> list[Ticket]:
        async with self._transaction() as tables:
            return await tables.tickets_of(customer.email, customer.id, limit)

    # --- writes (idempotent) -------------------------------------------------------------
    async def create_ticket(self, ticket: NewTicket, idempotency_key: str) -> Ticket:
        async def act(tables: Tables) -> tuple[Ticket, str]:
            now = self._now()
            ticket_id = await tables.insert_ticket(ticket, now)
            await tables.add_tags(ticket_id, ticket.tags)
            await tables.insert_comment(ticket_id, ticket.body, True, ticket.requester.id, now)
            return await tables.ticket(ticket_id), ticket_id

        return await self._idempotent(
            "create_ticket", idempotency_key, act, records.encode_ticket, records.decode_ticket
        )

    async def comment(
        self, ticket_id: str, body: str, public: bool, idempotency_key: str
    ) -> Comment:
        async def act(tables: Tables) -> tuple[Comment, str]:
            await tables.ticket(ticket_id)
            now = self._now()
            comment = await tables.insert_comment(ticket_id, body, public, self._bot_author_id, now)
            await tables.touch(ticket_id, now)
            return comment, ticket_id

        return await self._idempotent(
            "comment", idempotency_key, act, records.encode_comment, records.decode_comment
        )

    async def update_ticket(
        self, ticket_id: str, update: TicketUpdate, idempotency_key: str
    ) -> Ticket:
        """Given fields set, tags added then removed (a tag in both ends up removed)."""

        async def act(tables: Tables) -> tuple[Ticket, str]:
            await tables.ticket(ticket_id)
            await tables.update(
                ticket_id,
                update.status,
                update.priority,
                update.assignee_id,
                update.group_id,
                self._now(),
            )
            await tables.add_tags(ticket_id, update.add_tags)
            await tables.remove_tags(ticket_id, update.remove_tags)
            return await tables.ticket(ticket_id), ticket_id

        return await self._idempotent(
            "update_ticket", idempotency_key, act, records.encode_ticket, records.decode_ticket
        )

    async def hand_off(self, ticket_id: str, handoff: Handoff, idempotency_key: str) -> None:
        """Route (group, and the assignee or nobody), reopen, set priority, tag, note."""

        async def act(tables: Tables) -> tuple[None, str]:
            await tables.ticket(ticket_id)
            now, group_id = self._now(), handoff.group_id or self._handoff_group_id
            await tables.hand_off(ticket_id, handoff.assignee_id, group_id, handoff.priority, now)
            await tables.add_tags(ticket_id, handoff.tags)
            note = handoff_note(handoff)
            await tables.insert_comment(ticket_id, note, False, self._bot_author_id, now)
            return None, ticket_id

        await self._idempotent(
            "hand_off", idempotency_key, act, records.encode_none, records.decode_none
        )

    # --- the whole store -----------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        """The whole store as canonical JSON-able data; timestamps only with a given clock.

        Idempotency keys are bookkeeping, not state: they are left out.
        """
        async with self._transaction() as tables:
            tickets = [await tables.record(row) for row in await tables.ticket_rows()]
        return records.dump_record(records.StoreRecord(tickets=tickets), self._times_injected)

    async def seed(self, data: Any) -> None:
        """Replace everything (keys included) with the fixture ``data``: snapshot()'s shape."""
        fixture = records.parse_fixture(data)
        async with self._transaction() as tables:
            await tables.clear()
            for ticket in fixture.tickets:
                await tables.load(ticket, self._now())

    async def erase_customer(self, email_or_id: str) -> int:
        """Remove the tickets of the customer with this e-mail (any case) or id, with their
        comments, tags and kept results, and the comments they wrote on other tickets.
        Returns the number of tickets removed."""
        async with self._transaction() as tables:
            return await tables.erase(email_or_id)

    # --- helpers -------------------------------------------------------------------------
    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Tables]:
        """One operation at a time on the shared connection; all of it or nothing."""
        async with self._lock:
            try:
                yield self._tables
                await self._db.commit()
            except aiosqlite.Error as error:
                await self._db.rollback()
                raise TicketingError(f"builtin ticket store: {error}") from None
            except BaseException:
                await self._db.rollback()
                raise

    async def _idempotent(
        self,
        operation: str,
        key: str,
        act: Callable[[Tables], Awaitable[tuple[T, str]]],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
    ) -> T:
        async with self._transaction() as tables:
            first = await tables.first_result(operation, key)
            if first is not None:
                return decode(json.loads(first))
            result, ticket_id = await act(tables)
            kept = json.dumps(encode(result), sort_keys=True)
            await tables.keep_result(operation, key, ticket_id, kept)
            return result

    def _now(self) -> str:
        now = self._clock()
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
