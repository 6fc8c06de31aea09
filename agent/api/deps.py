"""Request-scoped access to the process's components, and the tenant bearer-token check."""

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
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "missing bearer token")
    valid = [t.get_secret_value().encode() for t in bot.api_tokens]
    if not any(hmac.compare_digest(token.encode(), candidate) for candidate in valid):
        raise ApiError(401, "invalid bearer token")
