"""The console's session: login with a token, the cookie's attributes, CSRF on every form,
no open redirect, and the API's roles applied to what the console does."""

from pathlib import Path

import httpx

from agent.console.session import COOKIE, csrf_token
from tests.support.admin_app import AdminApp, admin_app


async def login(admin: AdminApp, name: str, next_page: str = "") -> httpx.Response:
    form = {"token": admin.secrets[name], "next": next_page}
    return await admin.http.post("/admin/login", data=form)


def session(admin: AdminApp, name: str) -> dict[str, str]:
    """The cookie header a browser would send (httpx drops Secure cookies over http)."""
    return {"cookie": f"{COOKIE}={admin.secrets[name]}"}


async def test_a_valid_token_logs_in_with_a_strict_cookie(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        form_page = await admin.http.get("/admin/login")
        response = await login(admin, "viewer")
    assert form_page.status_code == 200
    assert "frame-ancestors 'none'" in form_page.headers["content-security-policy"]
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/conversations"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("httponly", "secure", "samesite=strict", "path=/admin"):
        assert attribute in cookie, attribute


async def test_a_wrong_token_is_refused_without_a_cookie(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        wrong = await admin.http.post("/admin/login", data={"token": "nope"})
        empty = await admin.http.post("/admin/login", data={"token": "  "})
    assert wrong.status_code == 401 and "Login refused" in wrong.text
    assert "set-cookie" not in wrong.headers
    assert empty.status_code == 422 and "Enter a token" in empty.text


async def test_login_returns_only_to_console_pages(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        inside = await login(admin, "viewer", "/admin/knowledge?tenant=demo")
        outside = await login(admin, "viewer", "//evil.example/admin/")
        absolute = await login(admin, "viewer", "https://evil.example/")
    assert inside.headers["location"] == "/admin/knowledge?tenant=demo"
    assert outside.headers["location"] == "/admin/conversations"
    assert absolute.headers["location"] == "/admin/conversations"


async def test_pages_need_a_session(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        anonymous = await admin.http.get("/admin/conversations?status=escalated")
        stale = await admin.http.get("/admin/conversations", headers={"cookie": f"{COOKIE}=gone"})
        viewer = await admin.http.get("/admin/conversations", headers=session(admin, "viewer"))
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/admin/login?next=/admin/conversations")
    assert stale.status_code == 303 and "deskhand_flash" in stale.headers["set-cookie"]
    assert viewer.status_code == 200 and "viewer · viewer" in viewer.text


async def test_every_form_needs_the_sessions_csrf_token(tmp_path: Path) -> None:
    action = "/admin/conversations/demo:generic:c1/do/takeover"
    async with admin_app(tmp_path) as admin:
        cookie = session(admin, "operator")
        missing = await admin.http.post(action, headers=cookie, data={})
        forged = await admin.http.post(
            action, headers=cookie, data={"csrf": csrf_token(admin.secrets["viewer"])}
        )
        logout = await admin.http.post("/admin/logout", headers=cookie, data={})
    assert missing.status_code == 403 and "CSRF" in missing.text
    assert forged.status_code == 403
    assert logout.status_code == 403


async def test_the_console_acts_with_the_tokens_role(tmp_path: Path) -> None:
    action = "/admin/conversations/demo:generic:c1/do/takeover"
    async with admin_app(tmp_path) as admin:
        viewer = session(admin, "viewer")
        refused = await admin.http.post(
            action, headers=viewer, data={"csrf": csrf_token(admin.secrets["viewer"])}
        )
        operator = session(admin, "operator")
        unknown = await admin.http.post(
            action, headers=operator, data={"csrf": csrf_token(admin.secrets["operator"])}
        )
        out = await admin.http.post(
            "/admin/logout", headers=operator, data={"csrf": csrf_token(admin.secrets["operator"])}
        )
    assert refused.status_code == 303
    assert "Refused%20%28403%29" in refused.headers["set-cookie"]
    assert unknown.status_code == 303
    assert "Refused%20%28404%29" in unknown.headers["set-cookie"]
    assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]


async def test_static_files_and_nothing_else(tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        css = await admin.http.get("/admin/static/console.css")
        escape = await admin.http.get("/admin/static/..%2Fsession.py")
        other = await admin.http.get("/admin/static/templates")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert escape.status_code == 404 and other.status_code == 404
