"""The console's login session: the bearer token in a cookie, and a CSRF token bound to it.

The cookie holds the operator's admin token itself (HttpOnly, SameSite=Strict, Secure
unless turned off for plain-HTTP set-ups), so every page acts with exactly that token's
role. A form's CSRF token is an HMAC of a fixed label keyed by a hash of the session token:
it needs no server-side state, works across API replicas, and cannot be computed by a page
that does not know the session token.
"""

import hashlib
import hmac

from fastapi import Request, Response

COOKIE = "deskhand_console"
COOKIE_PATH = "/admin"
CSRF_FIELD = "csrf"
_CSRF_LABEL = b"deskhand-console-csrf-v1"


def session_token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE, "").strip()
    return token or None


def csrf_token(session: str) -> str:
    key = hashlib.sha256(session.encode()).digest()
    return hmac.new(key, _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_valid(session: str, submitted: str | None) -> bool:
    if not submitted:
        return False
    return hmac.compare_digest(csrf_token(session).encode(), submitted.encode())


def set_session(response: Response, token: str, secure: bool, max_age_s: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age_s,
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session(response: Response, secure: bool) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=secure, httponly=True, samesite="strict"
    )
