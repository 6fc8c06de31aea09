"""Every /admin/v1 route against every kind of caller: no token and an unknown token get
401, a role below the route's gets 403, the route's own role gets past authorization, and
a token scoped to another tenant does not see this tenant's resources, and every change is
in the audit log under the caller's name. The table must name
every admin route the API documents, so a new route cannot skip this."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.admin.roles import Role
from agent.runtime.models import Author, TranscriptEntry
from tests.support.admin_app import AdminApp, admin_app

CONVERSATION_KEY = "demo:generic:c-1"  # exists: a tenant-scoped token must not see it
CONVERSATION = f"/admin/v1/conversations/{CONVERSATION_KEY}"
APPROVAL = "apr_0123456789ab_ZGVtbzpnZW5lcmljOmMtMQ"
BOT_FILE = (Path(__file__).parents[2] / "agent/demo/tenants/demo.yaml").read_bytes()


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # as /openapi.json names it
    path: str  # a concrete request
    role: Role  # the least role that may call it
    json: dict[str, Any] | None = None
    content: bytes | None = None
    other_tenant: int | None = None  # answer to an admin token scoped to another tenant
    headers: dict[str, str] = field(default_factory=dict)


ROUTES = [
    Route("GET", "/admin/v1/me", "/admin/v1/me", Role.VIEWER),
    Route("GET", "/admin/v1/approvals", "/admin/v1/approvals", Role.VIEWER),
    Route(
        "POST",
        "/admin/v1/approvals/{approval_id}",
        f"/admin/v1/approvals/{APPROVAL}",
        Role.OPERATOR,
        json={"decision": "approve"},
        other_tenant=404,
    ),
    Route("GET", "/admin/v1/conversations", "/admin/v1/conversations", Role.VIEWER),
    Route("GET", "/admin/v1/conversations/{key}", CONVERSATION, Role.VIEWER, other_tenant=404),
    Route(
        "GET",
        "/admin/v1/conversations/{key}/turns",
        f"{CONVERSATION}/turns",
        Role.VIEWER,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/takeover",
        f"{CONVERSATION}/takeover",
        Role.OPERATOR,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/handback",
        f"{CONVERSATION}/handback",
        Role.OPERATOR,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/messages",
        f"{CONVERSATION}/messages",
        Role.OPERATOR,
        json={"text": "Hello"},
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/draft/send",
        f"{CONVERSATION}/draft/send",
        Role.OPERATOR,
        json={},
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/draft/discard",
        f"{CONVERSATION}/draft/discard",
        Role.OPERATOR,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/resolve",
        f"{CONVERSATION}/resolve",
        Role.OPERATOR,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/conversations/{key}/approvals/{approval_id}",
        f"{CONVERSATION}/approvals/{APPROVAL}",
        Role.OPERATOR,
        json={"decision": "deny"},
        other_tenant=404,
    ),
    Route("GET", "/admin/v1/stats", "/admin/v1/stats?tenant=demo", Role.VIEWER, other_tenant=403),
    Route("GET", "/admin/v1/tokens", "/admin/v1/tokens", Role.ADMIN),
    Route(
        "POST",
        "/admin/v1/tokens",
        "/admin/v1/tokens",
        Role.ADMIN,
        json={"name": "made-by-matrix", "role": "viewer"},
    ),
    Route("DELETE", "/admin/v1/tokens/{token_id}", "/admin/v1/tokens/tok_unknown", Role.ADMIN),
    Route("GET", "/admin/v1/audit", "/admin/v1/audit", Role.ADMIN, other_tenant=403),
    Route(
        "GET",
        "/admin/v1/knowledge/{tenant}/sources",
        "/admin/v1/knowledge/demo/sources",
        Role.VIEWER,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/knowledge/{tenant}/documents",
        "/admin/v1/knowledge/demo/documents",
        Role.ADMIN,
        json={"filename": "a.md", "content_base64": "not base64!"},
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/knowledge/{tenant}/ingest",
        "/admin/v1/knowledge/demo/ingest",
        Role.ADMIN,
        json={"path": "/etc"},
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/knowledge/{tenant}/reindex",
        "/admin/v1/knowledge/demo/reindex",
        Role.ADMIN,
        other_tenant=404,
    ),
    Route(
        "DELETE",
        "/admin/v1/knowledge/{tenant}/sources/{source}",
        "/admin/v1/knowledge/demo/sources/none.md",
        Role.ADMIN,
        other_tenant=404,
    ),
    Route("GET", "/admin/v1/knowledge/jobs", "/admin/v1/knowledge/jobs", Role.VIEWER),
    Route(
        "GET",
        "/admin/v1/knowledge/jobs/{job_id}",
        "/admin/v1/knowledge/jobs/job_unknown",
        Role.VIEWER,
    ),
    Route(
        "GET",
        "/admin/v1/knowledge/search",
        "/admin/v1/knowledge/search?tenant=demo&q=refund",
        Role.VIEWER,
        other_tenant=404,
    ),
    Route(
        "GET",
        "/admin/v1/config/settings",
        "/admin/v1/config/settings",
        Role.ADMIN,
        other_tenant=403,
    ),
    Route(
        "GET",
        "/admin/v1/config/tenants/{tenant}",
        "/admin/v1/config/tenants/demo",
        Role.ADMIN,
        other_tenant=404,
    ),
    Route(
        "POST",
        "/admin/v1/config/tenants/{tenant}/validate",
        "/admin/v1/config/tenants/demo/validate",
        Role.ADMIN,
        content=BOT_FILE,
        other_tenant=404,
        headers={"content-type": "application/yaml"},
    ),
    Route(
        "POST",
        "/admin/v1/config/tenants/{tenant}/reload",
        "/admin/v1/config/tenants/demo/reload",
        Role.ADMIN,
        other_tenant=404,
    ),
    Route("GET", "/admin/v1/health", "/admin/v1/health", Role.VIEWER),
]
TOKEN_OF = {Role.VIEWER: "viewer", Role.OPERATOR: "operator", Role.ADMIN: "admin"}


async def call(admin: AdminApp, route: Route, headers: dict[str, str]) -> int:
    response = await admin.http.request(
        route.method,
        route.path,
        json=route.json,
        content=route.content,
        headers={**route.headers, **headers},
    )
    assert response.status_code < 500, (route.template, response.text)
    assert "error" in response.json() or response.status_code < 400, response.text
    return response.status_code


def test_the_table_names_every_admin_route(tmp_path: Path) -> None:
    from agent.api.app import create_app
    from agent.config.settings import Settings

    spec = create_app(Settings(_env_file=None, data_dir=tmp_path)).openapi()  # type: ignore[call-arg]
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if path.startswith("/admin/")
        for method in operations
    }
    assert documented == {(route.method, route.template) for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.template}")
async def test_each_route_checks_the_caller(route: Route, tmp_path: Path) -> None:
    async with admin_app(tmp_path) as admin:
        await admin.token("admin-other", Role.ADMIN, tenant="other")
        entry = TranscriptEntry(Author.CUSTOMER, "Where is my order?", "m-1")
        await admin.parts.runtime.transcripts.append(CONVERSATION_KEY, entry)
        anonymous = await call(admin, route, {})
        unknown = await call(admin, route, {"authorization": "Bearer dhk_not-a-token"})
        below = [
            await call(admin, route, admin.auth(TOKEN_OF[role]))
            for role in Role
            if role < route.role
        ]
        allowed = await call(admin, route, admin.auth(TOKEN_OF[route.role]))
        audited = await admin.http.get("/admin/v1/audit", headers=admin.auth("bootstrap"))
        scoped = await call(admin, route, admin.auth("admin-other"))
    assert anonymous == 401 and unknown == 401
    assert below == [403] * len(below)
    assert allowed not in (401, 403)
    if route.other_tenant is not None:
        assert scoped == route.other_tenant
    actors = {entry["actor"] for entry in audited.json()["items"]}
    if route.method != "GET" and allowed < 300:  # every change that happened is audited
        assert TOKEN_OF[route.role] in actors, audited.json()
    else:  # refusals and reads leave no trace
        assert TOKEN_OF[route.role] not in actors, audited.json()
