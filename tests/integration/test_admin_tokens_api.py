"""/admin/v1/tokens and /admin/v1/audit, and the roles on the approvals routes: the real
app (httpx.ASGITransport) over real SQLite, and real Redis."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.admin_app import AdminApp, admin_app


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def admin(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AdminApp]:
    extra = {}
    if request.param == "redis":
        extra = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    async with admin_app(tmp_path, **extra) as running:
        yield running


ROUTES = [
    ("GET", "/admin/v1/tokens", None),
    ("POST", "/admin/v1/tokens", {"name": "x", "role": "viewer"}),
    ("DELETE", "/admin/v1/tokens/tok_000000000000", None),
    ("GET", "/admin/v1/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_admin_routes_refuse_missing_wrong_and_low_tokens(
    admin: AdminApp, method: str, path: str, body: object
) -> None:
    http = admin.http
    missing = await http.request(method, path, json=body)
    wrong = await http.request(method, path, json=body, headers={"authorization": "Bearer no"})
    basic = await http.request(method, path, json=body, headers={"authorization": "Basic eA=="})
    viewer = await http.request(method, path, json=body, headers=admin.auth("viewer"))
    operator = await http.request(method, path, json=body, headers=admin.auth("operator"))
    assert [missing.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert missing.json() == {"error": "missing bearer token"}
    assert "invalid bearer token" in wrong.json()["error"]
    assert viewer.status_code == 403 and "admin role" in viewer.json()["error"]
    assert operator.status_code == 403 and "operator" in operator.json()["error"]


async def test_a_token_created_through_the_api_works_once_and_not_after_revocation(
    admin: AdminApp,
) -> None:
    http = admin.http
    created = await http.post(
        "/admin/v1/tokens",
        json={"name": "lead", "role": "operator", "tenant": "demo"},
        headers=admin.auth("admin"),
    )
    assert created.status_code == 201
    body = created.json()
    token, secret = body["token"], body["secret"]
    assert secret.startswith("dhk_") and len(secret) > 40
    assert (token["name"], token["role"], token["tenant"]) == ("lead", "operator", "demo")
    assert token["created_by"] == "admin" and not token["revoked"]
    assert "secret_hash" not in token

    me = {"authorization": f"Bearer {secret}"}
    assert (await http.get("/admin/v1/approvals", headers=me)).status_code == 200
    listed = (await http.get("/admin/v1/tokens", headers=admin.auth("admin"))).json()
    ours = next(t for t in listed["items"] if t["id"] == token["id"])
    assert ours["last_used_at"] is not None
    assert secret not in str(listed)

    revoked = await http.delete(f"/admin/v1/tokens/{token['id']}", headers=admin.auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    after = await http.get("/admin/v1/approvals", headers=me)
    assert after.status_code == 401

    audit = (await http.get("/admin/v1/audit", headers=admin.auth("admin"))).json()["items"]
    assert [(e["action"], e["target"], e["actor"]) for e in audit[:2]] == [
        ("token.revoke", token["id"], "admin"),
        ("token.create", token["id"], "admin"),
    ]
    assert audit[1]["detail"] == {"name": "lead", "role": "operator", "tenant": "demo"}
    assert audit[1]["ip"] == "127.0.0.1"


async def test_bad_token_requests_name_the_field(admin: AdminApp) -> None:
    http = admin.http
    headers = admin.auth("admin")
    no_role = await http.post("/admin/v1/tokens", json={"name": "x"}, headers=headers)
    bad_role = await http.post(
        "/admin/v1/tokens", json={"name": "x", "role": "root"}, headers=headers
    )
    empty = await http.post("/admin/v1/tokens", json={"name": "", "role": "admin"}, headers=headers)
    tenant = await http.post(
        "/admin/v1/tokens", json={"name": "x", "role": "admin", "tenant": "nope"}, headers=headers
    )
    limit = await http.get("/admin/v1/tokens?limit=0", headers=headers)
    cursor = await http.get("/admin/v1/tokens?cursor=tok_nope", headers=headers)
    unknown = await http.delete("/admin/v1/tokens/tok_nope", headers=headers)
    assert no_role.status_code == 422 and "role" in no_role.json()["error"]
    assert bad_role.status_code == 422 and "role" in bad_role.json()["error"]
    assert empty.status_code == 422 and "name" in empty.json()["error"]
    assert tenant.status_code == 422 and tenant.json()["error"].startswith("tenant:")
    assert limit.status_code == 422 and "limit" in limit.json()["error"]
    assert cursor.status_code == 422 and "cursor" in cursor.json()["error"]
    assert unknown.status_code == 404


async def test_a_tenant_scoped_admin_manages_its_tenant_only(admin: AdminApp) -> None:
    http = admin.http
    scoped = admin.auth("admin-demo")
    listed = (await http.get("/admin/v1/tokens", headers=scoped)).json()["items"]
    assert {t["tenant"] for t in listed} == {"demo"}
    foreign = await http.post(
        "/admin/v1/tokens", json={"name": "x", "role": "admin", "tenant": "other"}, headers=scoped
    )
    unscoped = await http.post(
        "/admin/v1/tokens", json={"name": "x", "role": "admin"}, headers=scoped
    )
    assert foreign.status_code == 403 and unscoped.status_code == 403
    all_tokens = (await http.get("/admin/v1/tokens", headers=admin.auth("admin"))).json()
    other_id = next(t["id"] for t in all_tokens["items"] if t["name"] == "viewer-other")
    hidden = await http.delete(f"/admin/v1/tokens/{other_id}", headers=scoped)
    assert hidden.status_code == 404
    audit = await http.get("/admin/v1/audit", headers=scoped)
    assert audit.status_code == 403


async def test_token_listing_pages(admin: AdminApp) -> None:
    names: list[str] = []
    cursor = None
    for _ in range(10):
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (
            await admin.http.get(f"/admin/v1/tokens{query}", headers=admin.auth("admin"))
        ).json()
        names += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == ["viewer", "operator", "admin", "admin-demo", "viewer-other"]


async def test_the_bootstrap_token_is_an_unscoped_admin(admin: AdminApp) -> None:
    created = await admin.http.post(
        "/admin/v1/tokens", json={"name": "first", "role": "admin"}, headers=admin.auth("bootstrap")
    )
    assert created.status_code == 201 and created.json()["token"]["created_by"] == "admin-token"
    audit = (await admin.http.get("/admin/v1/audit", headers=admin.auth("bootstrap"))).json()
    assert audit["items"][0]["actor_id"] == "env"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
async def test_nothing_edits_or_deletes_the_audit_log(admin: AdminApp, method: str) -> None:
    headers = admin.auth("admin")
    await admin.http.post("/admin/v1/tokens", json={"name": "n", "role": "viewer"}, headers=headers)
    before = (await admin.http.get("/admin/v1/audit", headers=headers)).json()
    entry = before["items"][0]["id"]
    for path in ("/admin/v1/audit", f"/admin/v1/audit/{entry}"):
        response = await admin.http.request(method, path, json={}, headers=headers)
        assert response.status_code in (404, 405), (path, response.status_code)
        if path == "/admin/v1/audit":
            assert response.status_code == 405
    assert (await admin.http.get("/admin/v1/audit", headers=headers)).json() == before


async def test_audit_filters_and_pages(admin: AdminApp) -> None:
    headers = admin.auth("admin")
    ids = []
    for name in ("a", "b", "c"):
        made = await admin.http.post(
            "/admin/v1/tokens", json={"name": name, "role": "viewer"}, headers=headers
        )
        ids.append(made.json()["token"]["id"])
    await admin.http.delete(f"/admin/v1/tokens/{ids[0]}", headers=headers)

    async def listed(query: str) -> list[tuple[str, str]]:
        page = await admin.http.get(f"/admin/v1/audit?{query}", headers=headers)
        assert page.status_code == 200, page.text
        return [(e["action"], e["target"]) for e in page.json()["items"]]

    assert await listed("action=token.revoke") == [("token.revoke", ids[0])]
    assert await listed(f"target={ids[0]}") == [("token.revoke", ids[0]), ("token.create", ids[0])]
    assert len(await listed("actor=admin")) == 4
    assert await listed("actor=viewer") == []
    assert len(await listed("since=2000-01-01T00:00:00Z")) == 4
    assert await listed("until=2000-01-01T00:00:00") == []
    first = (await admin.http.get("/admin/v1/audit?limit=3", headers=headers)).json()
    rest = await admin.http.get(f"/admin/v1/audit?cursor={first['next_cursor']}", headers=headers)
    assert len(first["items"]) == 3 and len(rest.json()["items"]) == 1
    bad = await admin.http.get("/admin/v1/audit?since=yesterday", headers=headers)
    assert bad.status_code == 422 and "since" in bad.json()["error"]
    cursor = await admin.http.get("/admin/v1/audit?cursor=nope", headers=headers)
    assert cursor.status_code == 422 and "cursor" in cursor.json()["error"]
