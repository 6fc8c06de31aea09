"""What the admin stores keep: API tokens (hashed) and the audit log. Schema version ``v``."""

from dataclasses import asdict, dataclass, field, replace
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class AdminToken:
    """A bearer token of the admin API. The secret itself is never stored: ``secret_hash``."""

    id: str
    name: str
    role: str  # viewer / operator / admin (agent.admin.roles.Role labels)
    secret_hash: str  # hex SHA-256 of the secret (see agent.admin.tokens)
    created_at: float
    created_by: str
    tenant: str | None = None  # a tenant-scoped token sees only that tenant
    revoked_at: float | None = None
    last_used_at: float | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def public(self) -> dict[str, Any]:
        """Everything but the hash: what listings show."""
        data = asdict(self)
        del data["secret_hash"]
        data["revoked"] = self.revoked
        return data

    def to_dict(self) -> dict[str, Any]:
        return {"v": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AdminToken":
        return cls(**{k: v for k, v in data.items() if k != "v"})

    def with_revoked(self, at: float) -> "AdminToken":
        return self if self.revoked else replace(self, revoked_at=at)


@dataclass(frozen=True)
class AuditEntry:
    """One mutating admin call: who, what, on what, when. ``id`` is the store's position."""

    actor: str  # the token's name
    actor_id: str  # the token's id ("env" for DESKHAND_ADMIN_TOKEN, "cli" for the CLI)
    action: str  # e.g. "approval.decide", "token.create"
    target: str  # what it acted on: a conversation key, a token id, a tenant
    at: float
    detail: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    ip: str | None = None
    id: str = ""  # assigned by the store on append

    def to_dict(self) -> dict[str, Any]:
        return {"v": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AuditEntry":
        return cls(**{k: v for k, v in data.items() if k != "v"})


@dataclass(frozen=True)
class AuditFilter:
    """Which entries a listing wants; ``None`` matches everything."""

    actor: str | None = None  # a token's name or id
    action: str | None = None
    target: str | None = None
    since: float | None = None  # at >= since
    until: float | None = None  # at < until

    def matches(self, entry: AuditEntry) -> bool:
        return (
            (self.actor is None or self.actor in (entry.actor, entry.actor_id))
            and (self.action is None or self.action == entry.action)
            and (self.target is None or self.target == entry.target)
            and (self.since is None or entry.at >= self.since)
            and (self.until is None or entry.at < self.until)
        )


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page
