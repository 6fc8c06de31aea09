"""POST /admin/v1/approvals/{id}: authentication and bad input get precise 4xx answers."""

from tests.integration.conftest import StartDeskhand

ADMIN = {"authorization": "Bearer admin-secret"}
UNKNOWN = "apr_0123456789ab_ZGVtbzpnZW5lcmljOm5vbmU"


def test_the_admin_api_refuses_what_it_should(start_deskhand: StartDeskhand) -> None:
    with start_deskhand(admin_token="admin-secret") as deskhand:
        http = deskhand.http
        missing = http.get("/admin/v1/approvals")
        wrong = http.get("/admin/v1/approvals", headers={"authorization": "Bearer nope"})
        listed = http.get("/admin/v1/approvals", headers=ADMIN)
        unknown = http.post(
            f"/admin/v1/approvals/{UNKNOWN}", json={"decision": "approve"}, headers=ADMIN
        )
        garbage = http.post(
            "/admin/v1/approvals/not-an-id", json={"decision": "deny"}, headers=ADMIN
        )
        bad = http.post(f"/admin/v1/approvals/{UNKNOWN}", json={"decision": "maybe"}, headers=ADMIN)
    assert missing.status_code == 401 and wrong.status_code == 401
    assert listed.status_code == 200 and listed.json() == {"approvals": []}
    assert unknown.status_code == 404 and "no approval" in unknown.json()["error"]
    assert garbage.status_code == 404
    assert bad.status_code == 422 and "decision" in bad.text


def test_without_the_bootstrap_token_only_stored_tokens_get_in(
    start_deskhand: StartDeskhand,
) -> None:
    with start_deskhand() as deskhand:
        response = deskhand.http.get("/admin/v1/approvals", headers=ADMIN)
    assert response.status_code == 401
    assert "invalid bearer token" in response.json()["error"]
