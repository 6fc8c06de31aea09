"""Request-scoped access to the process's components, and the tenant bearer-token check
(the admin API's tokens: agent.api.auth)."""

import hmac

from fastapi import Request

from agent.api.errors import ApiError
from agent.components import Components
from agent.config.botfile import BotConfig


def components(request: Request) -> Components:
    found: Components = request.app.state.components
    return found


def require_tenant_token(request: Request, bot: BotConfig) -> None:
    """401 unless the Authorization header carries one of the tenant's API tokens."""
    _require_bearer(request, [t.get_secret_value() for t in bot.api_tokens])


def bearer_token(request: Request) -> str:
    """The token of the ``Authorization: Bearer`` header; 401 when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token")
    return token.strip()


def _require_bearer(request: Request, valid: list[str]) -> None:
    token = bearer_token(request)
    candidates = [secret.encode() for secret in valid]
    if not any(hmac.compare_digest(token.encode(), candidate) for candidate in candidates):
        raise ApiError(401, "invalid bearer token")
