"""The admin stores' interfaces: API tokens and the append-only audit log.

Implementations: agent/runtime/sqlite_admin.py and redis_admin.py; one contract suite,
tests/contracts/test_admin_stores.py.
"""

from typing import Protocol

from agent.errors import DeskhandError
from agent.runtime.admin_records import AdminToken, AuditEntry, AuditFilter, AuditPage


class TokenStore(Protocol):
    async def add(self, token: AdminToken) -> None:
        """Store a new token (its id and hash are new)."""
        ...

    async def by_hash(self, secret_hash: str) -> AdminToken | None:
        """The token whose secret hashes to ``secret_hash`` (revoked ones too)."""
        ...

    async def get(self, token_id: str) -> AdminToken | None: ...

    async def all(self) -> list[AdminToken]:
        """Every token, revoked ones too, oldest first."""
        ...

    async def revoke(self, token_id: str, at: float) -> AdminToken | None:
        """Mark the token revoked at ``at`` (kept if revoked before); None if unknown."""
        ...

    async def touch(self, token_id: str, at: float) -> None:
        """Record a use of the token (``last_used_at``); nothing for an unknown id."""
        ...


class AuditLog(Protocol):
    """Append-only: nothing edits or deletes an entry."""

    async def append(self, entry: AuditEntry) -> AuditEntry:
        """Store the entry; returns it with its ``id``."""
        ...

    async def page(self, where: AuditFilter, limit: int, cursor: str | None) -> AuditPage:
        """Matching entries, newest first, at most ``limit``; ``cursor`` continues a listing.

        A page may hold fewer than ``limit`` entries and still have a next cursor (a
        backend may bound how much it scans per call). An unknown cursor raises
        InvalidCursor."""
        ...


class InvalidCursor(DeskhandError):
    """A listing's cursor is not one the store handed out."""
