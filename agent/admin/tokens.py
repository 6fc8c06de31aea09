"""Admin API tokens: issue (the secret shown once), verify, list, revoke.

A token is ``dhk_`` + 43 URL-safe characters from ``secrets`` (256 random bits). Only the
SHA-256 of it is stored. A fast unsalted hash is right here, unlike for passwords: a
password is low-entropy, so a stolen hash table can be brute-forced and a slow salted hash
(bcrypt, argon2) is needed; a 256-bit random secret cannot be guessed from its hash at
any speed, and a fast hash lets every request be verified without a costly KDF. The
store is looked up by that hash (the lookup's timing can only reveal bits of a hash of an
unguessable value), then the hashes are compared with ``hmac.compare_digest``.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from agent.admin.roles import Role
from agent.errors import DeskhandError
from agent.runtime.admin_records import AdminToken
from agent.runtime.admin_stores import TokenStore

TOKEN_PREFIX = "dhk_"  # noqa: S105 - a prefix, so a leaked token is recognisable
TOUCH_EVERY_S = 60.0  # last_used_at is refreshed at most this often (a write per request)
MAX_NAME = 100


class TokenError(DeskhandError):
    """A token cannot be issued or revoked as asked."""


class TokenNotFound(TokenError):
    def __init__(self, token_id: str) -> None:
        super().__init__(f"no admin token {token_id!r}")
        self.token_id = token_id


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret: the only time the secret exists outside the caller."""

    token: AdminToken
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_token(
    store: TokenStore,
    name: str,
    role: Role,
    created_by: str,
    tenant: str | None = None,
) -> IssuedToken:
    """Create a token; raises TokenError for an empty or over-long name."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise TokenError(f"the name must be 1 to {MAX_NAME} characters")
    if tenant is not None and not tenant.strip():
        raise TokenError("the tenant must not be empty (leave it out for every tenant)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AdminToken(
        id=f"tok_{secrets.token_hex(6)}",
        name=name,
        role=role.label,
        secret_hash=hash_secret(secret),
        created_at=time.time(),
        created_by=created_by,
        tenant=tenant,
    )
    await store.add(token)
    return IssuedToken(token, secret)


async def verify_token(store: TokenStore, secret: str) -> AdminToken | None:
    """The live (not revoked) token with this secret, or None; records its use."""
    digest = hash_secret(secret)
    token = await store.by_hash(digest)
    if token is None or not hmac.compare_digest(token.secret_hash, digest):
        return None
    if token.revoked:
        return None
    now = time.time()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY_S:
        await store.touch(token.id, now)
    return token


async def revoke_token(store: TokenStore, token_id: str) -> AdminToken:
    """Revoke the token (revoking twice keeps the first time); TokenNotFound if unknown."""
    token = await store.revoke(token_id, time.time())
    if token is None:
        raise TokenNotFound(token_id)
    return token
