"""Who is calling the admin API, and what they may do: roles, principals, the audit hook.

The interface every admin route uses:

* ``principal = await require_role(request, Role.OPERATOR)`` — 401 for a missing,
  unknown or revoked token, 403 for a role below the one asked for; returns who called.
* ``principal.can_see(tenant)`` — False for a tenant-scoped token and another tenant's
  data (routes answer 404 then, as for an unknown id).
* ``await audit(request, principal, action, target, detail)`` — records a mutating call
  in the audit log (``Runtime.audit``).

Tokens come from the token store (``deskhand admin token create``, ``/admin/v1/tokens``);
the one configured as ``DESKHAND_ADMIN_TOKEN``, if any, is an unscoped admin besides
(the bootstrap: it creates the first tokens).
"""

import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from agent.admin.roles import Role
from agent.admin.tokens import verify_token
from agent.api.deps import bearer_token, components
from agent.api.errors import ApiError
from agent.runtime.admin_records import AdminToken, AuditEntry

__all__ = ["Principal", "Role", "audit", "authenticate", "require_role"]

log = logging.getLogger(__name__)
BOOTSTRAP_ID = "env"  # the token id the audit log shows for DESKHAND_ADMIN_TOKEN


@dataclass(frozen=True)
class Principal:
    """The caller behind a bearer token."""

    name: str  # the token's name, as the audit log shows it
    role: Role
    tenant: str | None = None  # a tenant-scoped token sees only that tenant
    token_id: str = ""

    def can_see(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant

    @classmethod
    def of(cls, token: AdminToken) -> "Principal":
        return cls(token.name, Role.parse(token.role), token.tenant, token.id)


async def require_role(request: Request, role: Role) -> Principal:
    """The caller, if their token is valid (else 401) and their role suffices (else 403)."""
    principal = await authenticate(request)
    if principal.role < role:
        raise ApiError(
            403, f"this needs the {role.label} role; the token has {principal.role.label}"
        )
    return principal


async def authenticate(request: Request) -> Principal:
    token = bearer_token(request)
    parts = components(request)
    configured = parts.settings.admin_token
    if configured is not None and hmac.compare_digest(
        token.encode(), configured.get_secret_value().encode()
    ):
        return Principal("admin-token", Role.ADMIN, None, BOOTSTRAP_ID)
    found = await verify_token(parts.runtime.admin_tokens, token)
    if found is None:
        raise ApiError(401, "invalid bearer token (unknown or revoked)")
    return Principal.of(found)


async def audit(
    request: Request,
    principal: Principal,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a mutating call: who, what, when, on what (and the request's id and address)."""
    entry = AuditEntry(
        actor=principal.name,
        actor_id=principal.token_id,
        action=action,
        target=target,
        at=time.time(),
        detail=detail or {},
        request_id=request.headers.get("x-request-id"),
        ip=request.client.host if request.client else None,
    )
    await components(request).runtime.audit.append(entry)
    log.info("admin action", extra={"who": principal.name, "action": action, "target": target})
