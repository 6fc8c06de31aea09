"""What every console page and form shares: the session, the API bound to it, the CSRF
check, and the way back to the login page."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from agent.console.bridge import AdminApi, ConsoleApiError, admin_api
from agent.console.render import Flash, page, redirect
from agent.console.session import CSRF_FIELD, csrf_valid, session_token

Render = Callable[[AdminApi, dict[str, Any]], Awaitable[Response]]
Action = Callable[[AdminApi, FormData], Awaitable[str]]


@asynccontextmanager
async def console_api(request: Request, token: str) -> AsyncIterator[AdminApi]:
    api = admin_api(request, token)
    try:
        yield api
    finally:
        await api.client.aclose()


async def show(request: Request, render: Render, section: str) -> Response:
    """A page behind the login: the caller's identity, then ``render`` with the API."""
    session = session_token(request)
    if session is None:
        return _to_login(request)
    try:
        async with console_api(request, session) as api:
            me = await api.get("/admin/v1/me")
            return await render(api, {"me": me, "section": section, "session": session})
    except ConsoleApiError as error:
        if error.status == 401:
            return _to_login(request, expired=True)
        return page(
            request,
            "error.html",
            session,
            error.status,
            status=error.status,
            message=str(error),
            me=None,
        )


async def act(request: Request, back: str, call: Action) -> Response:
    """A form post: CSRF checked, the API called, then back to ``back`` with a message."""
    session = session_token(request)
    if session is None:
        return _to_login(request)
    form = await request.form()
    if not csrf_valid(session, form_field(form, CSRF_FIELD)):
        return page(request, "error.html", session, 403, status=403, message=CSRF_REFUSED)
    try:
        async with console_api(request, session) as api:
            done = await call(api, form)
    except ConsoleApiError as error:
        if error.status == 401:
            return _to_login(request, expired=True)
        return redirect(back, Flash("error", f"Refused ({error.status}): {error}"))
    return redirect(back, Flash("ok", done))


def form_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _to_login(request: Request, expired: bool = False) -> Response:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    flash = Flash("error", "Your session ended; log in again.") if expired else None
    return redirect(f"/admin/login?next={target}", flash)


def next_page(wanted: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if wanted.startswith("/admin/") and not wanted.startswith("//"):
        return wanted
    return "/admin/conversations"


CSRF_REFUSED = "The form's CSRF token is missing or wrong: reload the page and try again."
