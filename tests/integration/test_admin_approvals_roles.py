"""The approvals routes under roles: a viewer lists, an operator decides (audited), a
tenant-scoped token sees and decides its tenant's approvals only."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.runtime.models import ApprovalRecord, InboundMessage, TurnCommit, approval_id
from agent.runtime.stores import Mailboxes
from tests.support.admin_app import AdminApp, admin_app
from tools.context import Customer


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[AdminApp]:
    async with admin_app(tmp_path) as running:
        yield running


async def pending(mailboxes: Mailboxes, tenant: str) -> ApprovalRecord:
    """An approval a turn of ``tenant``'s conversation left pending, as a worker commits it."""
    message = InboundMessage(tenant, "generic", "c-1", "m-1", "refund please", Customer("cust_1"))
    record = ApprovalRecord(
        id=approval_id(message.conversation_key, "refund"),
        conversation_key=message.conversation_key,
        tool="request_refund",
        arguments={"order_id": "BL-10234", "amount_eur": 120},
        reason="above the approval limit",
        checkpoint_id="cp-1",
        customer_id="cust_1",
    )
    await mailboxes.append(message, delay_s=0)
    claim = await mailboxes.claim_key(message.conversation_key, 5.0, limit=10)
    assert claim is not None
    await mailboxes.commit(claim, TurnCommit(1, approvals=(record,)))
    await mailboxes.release(claim)
    return record


async def test_roles_on_the_approvals_routes(admin: AdminApp) -> None:
    http = admin.http
    demo = await pending(admin.parts.runtime.mailboxes, "demo")
    other = await pending(admin.parts.runtime.mailboxes, "other")

    listed = await http.get("/admin/v1/approvals", headers=admin.auth("viewer"))
    assert listed.status_code == 200
    assert {a["id"] for a in listed.json()["approvals"]} == {demo.id, other.id}
    scoped = await http.get("/admin/v1/approvals", headers=admin.auth("viewer-other"))
    assert [a["id"] for a in scoped.json()["approvals"]] == [other.id]
    assert (await http.get("/admin/v1/approvals")).status_code == 401

    decision = {"decision": "approve", "note": "ok"}
    by_viewer = await http.post(
        f"/admin/v1/approvals/{demo.id}", json=decision, headers=admin.auth("viewer")
    )
    assert by_viewer.status_code == 403
    foreign = await http.post(
        f"/admin/v1/approvals/{other.id}", json=decision, headers=admin.auth("admin-demo")
    )
    assert foreign.status_code == 404

    decided = await http.post(
        f"/admin/v1/approvals/{demo.id}", json=decision, headers=admin.auth("operator")
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["approval"]["decided_by"] == "operator"
    again = await http.post(
        f"/admin/v1/approvals/{demo.id}", json=decision, headers=admin.auth("operator")
    )
    assert again.status_code == 409

    audit = (await http.get("/admin/v1/audit", headers=admin.auth("admin"))).json()["items"]
    decisions = [e for e in audit if e["action"] == "approval.decide"]
    assert len(decisions) == 1
    assert decisions[0]["target"] == demo.id and decisions[0]["actor"] == "operator"
    assert decisions[0]["detail"]["decision"] == "approve"
    assert decisions[0]["detail"]["conversation"] == demo.conversation_key
