"""The console's routes: log in and out, static files, and the shared page plumbing."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from agent.api.deps import components
from agent.api.errors import ApiError
from agent.console import conversation_pages, dashboard_pages, knowledge_pages
from agent.console.bridge import ConsoleApiError
from agent.console.plumbing import CSRF_REFUSED, console_api, form_field, next_page
from agent.console.render import Flash, page, redirect
from agent.console.session import CSRF_FIELD, clear_session, csrf_valid, session_token, set_session

router = APIRouter(prefix="/admin", include_in_schema=False)
STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".png": "image/png"}


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/admin/conversations", status_code=303)


@router.get("/static/{name}")
async def static(name: str) -> FileResponse:
    path = STATIC / name
    if path.suffix not in _STATIC_TYPES or path.parent != STATIC or not path.is_file():
        raise ApiError(404, f"no console file {name!r}")
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix])


@router.get("/login")
async def login_form(request: Request) -> Response:
    wanted = next_page(request.query_params.get("next", ""))
    return page(request, "login.html", None, error=None, next=wanted)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "").strip()
    wanted = next_page(str(form.get("next") or ""))
    if not token:
        return page(request, "login.html", None, 422, error="Enter a token.", next=wanted)
    try:
        async with console_api(request, token) as api:
            await api.get("/admin/v1/me")
    except ConsoleApiError as error:
        status = 401 if error.status in (401, 403) else error.status
        message = f"Login refused: {error}"
        return page(request, "login.html", None, status, error=message, next=wanted)
    settings = components(request).settings
    response = redirect(wanted)
    max_age = int(settings.console_session_hours * 3600)
    set_session(response, token, settings.console_cookie_secure, max_age)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    response = redirect("/admin/login", Flash("ok", "Logged out."))
    session = session_token(request)
    form = await request.form()
    if session is not None and not csrf_valid(session, form_field(form, CSRF_FIELD)):
        return page(request, "error.html", session, 403, status=403, message=CSRF_REFUSED)
    clear_session(response, components(request).settings.console_cookie_secure)
    return response


router.include_router(conversation_pages.router)
router.include_router(knowledge_pages.router)
router.include_router(dashboard_pages.router)
