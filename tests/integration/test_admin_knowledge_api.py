"""/admin/v1/knowledge: upload and ingest as jobs with progress, sources, debug search,
delete, reindex; roles and tenant scopes. The real app, embedded Chroma, the real
embedding model on a tiny document."""

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.admin_app import AdminApp, admin_app

DOC = """# Returns

You can return any lamp within 30 days of delivery for a full refund.

## Damaged items

Send us a photo of the damage and we ship a replacement within two days.
"""


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[AdminApp]:
    imports = tmp_path / "imports"
    imports.mkdir()
    async with admin_app(tmp_path, kb_import_dirs=str(imports)) as running:
        yield running


async def finished(admin: AdminApp, job: dict[str, Any], timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    seen = set()
    while time.monotonic() < deadline:
        response = await admin.http.get(
            f"/admin/v1/knowledge/jobs/{job['id']}", headers=admin.auth("viewer")
        )
        assert response.status_code == 200, response.text
        state = response.json()
        seen.add(state["state"])
        if state["state"] in ("succeeded", "failed"):
            assert seen <= {"queued", "running", "succeeded", "failed"}
            return dict(state)
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job['id']} still {seen} after {timeout_s}s")


async def test_upload_search_delete_reindex(admin: AdminApp) -> None:
    http = admin.http
    root = admin.auth("admin")
    uploaded = await http.post(
        "/admin/v1/knowledge/demo/documents",
        json={"filename": "returns.md", "content": DOC},
        headers=root,
    )
    assert uploaded.status_code == 202, uploaded.text
    job = uploaded.json()["job"]
    assert job["kind"] == "ingest" and job["tenant"] == "demo" and job["target"] == "returns.md"
    done = await finished(admin, job)
    assert done["state"] == "succeeded", done
    assert done["result"]["added"] == 1 and done["done"] == done["total"] > 0
    assert done["progress"] == 1.0

    sources = await http.get("/admin/v1/knowledge/demo/sources", headers=admin.auth("viewer"))
    body = sources.json()
    assert sources.status_code == 200 and body["documents"] == 1
    (source,) = body["items"]
    assert source["source"] == "returns.md" and source["chunks"] == body["chunks"] >= 1
    assert source["indexed_at"] is not None and body["last_synced_at"] is not None

    found = await http.get(
        "/admin/v1/knowledge/search",
        params={"tenant": "demo", "q": "can I return a lamp?", "k": 2},
        headers=admin.auth("viewer"),
    )
    assert found.status_code == 200, found.text
    result = found.json()
    assert result["k"] == 2 and result["passages"]
    best = result["passages"][0]
    assert best["source"] == "returns.md" and 0 < best["score"] <= 1
    assert "30 days" in " ".join(p["text"] for p in result["passages"])
    assert 0 <= result["confidence"] <= 1 and "min_score" in result

    again = await http.post("/admin/v1/knowledge/demo/reindex", headers=root)
    assert again.status_code == 202
    reindexed = await finished(admin, again.json()["job"])
    assert reindexed["state"] == "succeeded"
    assert reindexed["result"] == {"chunks": body["chunks"]}

    deleted = await http.delete("/admin/v1/knowledge/demo/sources/returns.md", headers=root)
    assert deleted.status_code == 200
    assert deleted.json() == {"source": "returns.md", "chunks_removed": body["chunks"]}
    gone = await http.delete("/admin/v1/knowledge/demo/sources/returns.md", headers=root)
    assert gone.status_code == 404
    empty = await http.get("/admin/v1/knowledge/demo/sources", headers=root)
    assert empty.json()["items"] == []

    audit = (await http.get("/admin/v1/audit", headers=root)).json()["items"]
    actions = [(e["action"], e["target"]) for e in audit]
    assert actions == [
        ("knowledge.delete", "demo:returns.md"),
        ("knowledge.reindex", "demo"),
        ("knowledge.upload", "demo:returns.md"),
    ]


async def test_ingest_a_server_path_only_inside_allowed_folders(
    admin: AdminApp, tmp_path: Path
) -> None:
    folder = tmp_path / "imports" / "faq"
    folder.mkdir()
    (folder / "shipping.txt").write_text("We ship within two working days.")
    secret = tmp_path / "secret.txt"
    secret.write_text("nothing to see")
    root = admin.auth("admin")
    outside = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest", json={"path": str(secret)}, headers=root
    )
    sneaky = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest",
        json={"path": str(folder / ".." / ".." / "secret.txt")},
        headers=root,
    )
    missing = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest", json={"path": str(folder / "nope")}, headers=root
    )
    both = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest", json={"path": "x", "url": "http://x"}, headers=root
    )
    bad_url = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest", json={"url": "file:///etc/passwd"}, headers=root
    )
    assert outside.status_code == sneaky.status_code == 422
    assert outside.json()["error"].startswith("path:")
    assert missing.status_code == 422 and "does not exist" in missing.json()["error"]
    assert both.status_code == 422 and "exactly one" in both.json()["error"]
    assert bad_url.status_code == 422 and bad_url.json()["error"].startswith("url:")

    accepted = await admin.http.post(
        "/admin/v1/knowledge/demo/ingest", json={"path": str(folder)}, headers=root
    )
    assert accepted.status_code == 202
    done = await finished(admin, accepted.json()["job"])
    assert done["state"] == "succeeded" and done["result"]["added"] == 1
    listed = await admin.http.get("/admin/v1/knowledge/jobs", headers=admin.auth("viewer"))
    assert [j["id"] for j in listed.json()["items"]] == [done["id"]]


async def test_uploads_refuse_bad_bodies_naming_the_field(admin: AdminApp) -> None:
    root = admin.auth("admin")
    url = "/admin/v1/knowledge/demo/documents"

    async def post(**kwargs: Any) -> tuple[int, str]:
        kwargs["headers"] = {**root, **kwargs.get("headers", {})}
        response = await admin.http.post(url, **kwargs)
        return response.status_code, response.json()["error"]

    no_name = await post(json={"content": "x"})
    neither = await post(json={"filename": "a.md"})
    bad_b64 = await post(json={"filename": "a.pdf", "content_base64": "%%%"})
    no_ext = await post(json={"filename": "../..", "content": "x"})
    text = await post(content=b"hello", headers={"content-type": "text/plain"})
    broken = await post(content=b"{", headers={"content-type": "application/json"})
    assert no_name[0] == 422 and "filename" in no_name[1]
    assert neither[0] == 422 and neither[1].startswith("content:")
    assert bad_b64[0] == 422 and bad_b64[1].startswith("content_base64:")
    assert no_ext[0] == 422 and no_ext[1].startswith("filename:")
    assert text[0] == 415 and broken[0] == 400
    encoded = base64.b64encode(b"Plain text FAQ.").decode()
    ok = await admin.http.post(
        url, json={"filename": "sub/../faq.txt", "content_base64": encoded}, headers=root
    )
    assert ok.status_code == 202 and ok.json()["job"]["target"] == "faq.txt"
    await finished(admin, ok.json()["job"])


async def test_roles_and_tenant_scopes(admin: AdminApp) -> None:
    http = admin.http
    doc = {"filename": "a.md", "content": "# A\n\ntext"}
    assert (await http.get("/admin/v1/knowledge/demo/sources")).status_code == 401
    wrong = await http.get(
        "/admin/v1/knowledge/demo/sources", headers={"authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    for path in ("/demo/documents", "/demo/reindex"):
        response = await http.post(
            f"/admin/v1/knowledge{path}", json=doc, headers=admin.auth("operator")
        )
        assert response.status_code == 403, path
    low = await http.delete("/admin/v1/knowledge/demo/sources/a.md", headers=admin.auth("viewer"))
    assert low.status_code == 403
    foreign = admin.auth("viewer-other")
    assert (await http.get("/admin/v1/knowledge/demo/sources", headers=foreign)).status_code == 404
    search = await http.get(
        "/admin/v1/knowledge/search", params={"tenant": "demo", "q": "x"}, headers=foreign
    )
    assert search.status_code == 404
    scoped_admin = admin.auth("admin-demo")
    other_upload = await http.post(
        "/admin/v1/knowledge/other/documents", json=doc, headers=scoped_admin
    )
    assert other_upload.status_code == 404
    unknown = await http.get("/admin/v1/knowledge/nope/sources", headers=admin.auth("admin"))
    assert unknown.status_code == 404
    no_job = await http.get("/admin/v1/knowledge/jobs/job_nope", headers=admin.auth("viewer"))
    assert no_job.status_code == 404
    no_q = await http.get(
        "/admin/v1/knowledge/search", params={"tenant": "demo"}, headers=admin.auth("viewer")
    )
    big_k = await http.get(
        "/admin/v1/knowledge/search",
        params={"tenant": "demo", "q": "x", "k": 99},
        headers=admin.auth("viewer"),
    )
    assert no_q.status_code == 422 and "q" in no_q.json()["error"]
    assert big_k.status_code == 422 and "k" in big_k.json()["error"]

    uploaded = await http.post("/admin/v1/knowledge/demo/documents", json=doc, headers=scoped_admin)
    assert uploaded.status_code == 202
    job = uploaded.json()["job"]
    hidden = await http.get(f"/admin/v1/knowledge/jobs/{job['id']}", headers=foreign)
    assert hidden.status_code == 404
    listed = await http.get("/admin/v1/knowledge/jobs", headers=foreign)
    assert listed.json()["items"] == []
    await finished(admin, job)
