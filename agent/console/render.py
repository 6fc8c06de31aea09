"""Rendering console pages: Jinja2 with autoescaping on, the session's CSRF token, flashes."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape

from agent.console.session import COOKIE_PATH, csrf_token

TEMPLATES = Path(__file__).parent / "templates"
FLASH_COOKIE = "deskhand_flash"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default=True),
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Flash:
    kind: str  # "ok" or "error"
    text: str


def page(
    request: Request,
    template: str,
    session: str | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page, with the CSRF token of the session and the pending flash (then cleared)."""
    flash = read_flash(request)
    context.setdefault("me", None)
    context.setdefault("section", "")
    html = _env.get_template(template).render(
        csrf=csrf_token(session) if session else "", flash=flash, **context
    )
    response = HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
    return response


def redirect(to: str, flash: Flash | None = None) -> RedirectResponse:
    """A 303 to ``to`` after a form post, carrying a one-time message for the next page."""
    response = RedirectResponse(to, status_code=303)
    if flash is not None:
        value = quote(f"{flash.kind}|{flash.text[:500]}")
        response.set_cookie(FLASH_COOKIE, value, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition("|")
    return Flash("error" if kind == "error" else "ok", text)


# No inline script runs (every script is a file under /admin/static), so a message that
# slipped past escaping could still not execute; the console is never framed.
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
