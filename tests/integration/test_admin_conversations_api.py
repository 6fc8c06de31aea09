"""/admin/v1/conversations over real HTTP: a customer message through the signed generic
webhook, a turn with the scripted model, then the operator's view and actions, per role."""

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import yaml

from agent.admin.roles import Role
from agent.admin.tokens import issue_token
from agent.cli.client import DemoCustomer
from agent.config.settings import DEMO_TENANTS_DIR
from agent.llm.stub import ScriptedModelServer, ScriptedResponse, ScriptedToolCall
from agent.runtime.factory import open_runtime
from tests.integration.conftest import CallbackReceiver, Running, StartDeskhand
from tests.support.full_path import wait_for

pytestmark = pytest.mark.slow
ADMIN = {"authorization": "Bearer admin-secret"}
ANSWER = "A refund takes 5–7 business days once we receive the item."


def token(deskhand: Running, role: str) -> dict[str, str]:
    body = {"name": f"{role}-{uuid.uuid4().hex[:6]}", "role": role}
    created = deskhand.http.post("/admin/v1/tokens", json=body, headers=ADMIN)
    assert created.status_code in (200, 201), created.text
    return {"authorization": f"Bearer {created.json()['secret']}"}


def scoped_token(deskhand: Running, tenant: str) -> dict[str, str]:
    """An operator token of another tenant (one this deskhand does not serve, so the API
    would refuse to create it: written to the running process's token store directly)."""

    async def issue() -> str:
        runtime = await open_runtime(deskhand.settings)
        try:
            issued = await issue_token(
                runtime.admin_tokens, "elsewhere", Role.OPERATOR, "test", tenant
            )
        finally:
            await runtime.close()
        return issued.secret

    return {"authorization": f"Bearer {asyncio.run(issue())}"}


def summary(deskhand: Running, key: str, headers: dict[str, str]) -> dict[str, Any] | None:
    response = deskhand.http.get(f"/admin/v1/conversations/{key}", headers=headers)
    return response.json()["summary"] if response.status_code == 200 else None


def listed(deskhand: Running, headers: dict[str, str], **params: Any) -> list[str]:
    response = deskhand.http.get("/admin/v1/conversations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["key"] for item in response.json()["items"]]


def status_becomes(deskhand: Running, key: str, headers: dict[str, str], status: str) -> None:
    wait_for(lambda: (summary(deskhand, key, headers) or {}).get("status") == status)


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> dict[str, str]:
    """The runtime stores' settings: SQLite, or Redis under this test's key prefix."""
    if request.param == "embedded":
        return {}
    url = request.getfixturevalue("redis_url")
    return {"redis_url": url, "redis_prefix": request.getfixturevalue("redis_prefix")}


def test_an_operator_reads_and_takes_over_a_conversation(
    start_deskhand: StartDeskhand,
    receiver: tuple[CallbackReceiver, str],
    backend: dict[str, str],
) -> None:
    recorder, url = receiver
    with ScriptedModelServer() as model:
        model.set_script([ScriptedResponse(content=ANSWER)])
        settings = {"llm_base_url": model.base_url, "admin_token": "admin-secret", **backend}
        with start_deskhand(bot={"generic": {"callback_url": url}}, **settings) as deskhand:
            viewer, operator = token(deskhand, "viewer"), token(deskhand, "operator")
            elsewhere = scoped_token(deskhand, "acme")
            conv = f"adm-{uuid.uuid4().hex[:8]}"
            key = f"demo:generic:{conv}"
            client = deskhand.client()
            sent = client.send(conv, "How long does a refund take?", DemoCustomer())
            client.wait_reply(conv, sent, timeout_s=30)
            wait_for(lambda: key in listed(deskhand, viewer))
            _check_listing(deskhand, viewer, key)
            _check_transcript_and_trace(deskhand, viewer, key)
            _check_refusals(deskhand, viewer, elsewhere, key)
            _check_actions(deskhand, operator, key, recorder)


def _check_listing(deskhand: Running, viewer: dict[str, str], key: str) -> None:
    assert key in listed(deskhand, viewer, status="auto", channel="generic", tenant="demo")
    assert key not in listed(deskhand, viewer, status="escalated")
    assert key not in listed(deskhand, viewer, channel="zendesk")
    assert key in listed(deskhand, viewer, q="REFUND TAKE")
    assert key not in listed(deskhand, viewer, q="no such words anywhere")
    assert key in listed(deskhand, viewer, since="2020-01-01T00:00:00Z")
    assert listed(deskhand, viewer, until="2020-01-01T00:00:00Z") == []
    (item,) = [
        i
        for i in deskhand.http.get("/admin/v1/conversations", headers=viewer).json()["items"]
        if i["key"] == key
    ]
    assert item["customer_id"] == "cust_1001" and item["counts"] == {"customer": 1, "bot": 1}
    assert item["last_message"]["author"] == "bot" and item["status"] == "auto"
    bad = deskhand.http.get("/admin/v1/conversations?status=sleeping", headers=viewer)
    assert bad.status_code == 422 and "status" in bad.json()["error"]
    bad = deskhand.http.get("/admin/v1/conversations?cursor=nonsense!", headers=viewer)
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]
    bad = deskhand.http.get("/admin/v1/conversations?limit=0", headers=viewer)
    assert bad.status_code == 422 and "limit" in bad.json()["error"]


def _check_transcript_and_trace(deskhand: Running, viewer: dict[str, str], key: str) -> None:
    detail = deskhand.http.get(f"/admin/v1/conversations/{key}", headers=viewer).json()
    assert [e["author"] for e in detail["entries"]] == ["customer", "bot"]
    assert detail["entries"][1]["text"] == ANSWER and "trace" not in detail["entries"][1]["meta"]
    assert detail["state"] == {"mode": "auto", "escalation_reason": None}
    first = deskhand.http.get(f"/admin/v1/conversations/{key}?limit=1", headers=viewer).json()
    assert len(first["entries"]) == 1 and first["next_cursor"]
    rest = deskhand.http.get(
        f"/admin/v1/conversations/{key}",
        params={"cursor": first["next_cursor"]},
        headers=viewer,
    ).json()
    assert [e["position"] for e in rest["entries"]] == [1]
    (turn,) = deskhand.http.get(f"/admin/v1/conversations/{key}/turns", headers=viewer).json()[
        "items"
    ]
    assert turn["nodes"][:3] == ["guard", "understand", "retrieve"] and "agent" in turn["nodes"]
    passages = turn["retrieval"]["passages"]
    assert passages and passages[0]["source"] == "refunds.md"
    assert all(isinstance(p["score"], float) for p in passages)
    assert turn["model"]["calls"][0]["latency_s"] >= 0
    assert turn["model"]["prompt_tokens"] > 0 and turn["model"]["completion_tokens"] > 0
    assert turn["reply"] == ANSWER and turn["escalation"] is None


def _check_refusals(
    deskhand: Running, viewer: dict[str, str], elsewhere: dict[str, str], key: str
) -> None:
    http = deskhand.http
    assert http.post(f"/admin/v1/conversations/{key}/takeover", headers=viewer).status_code == 403
    assert http.get(f"/admin/v1/conversations/{key}").status_code == 401
    assert http.get(f"/admin/v1/conversations/{key}", headers=elsewhere).status_code == 404
    taken = http.post(f"/admin/v1/conversations/{key}/takeover", headers=elsewhere)
    assert taken.status_code == 404
    assert key not in listed(deskhand, elsewhere)
    assert listed(deskhand, elsewhere, tenant="demo") == []
    unknown = "demo:generic:no-such-conversation"
    assert http.get(f"/admin/v1/conversations/{unknown}", headers=viewer).status_code == 404
    assert http.get(f"/admin/v1/conversations/{unknown}/turns", headers=viewer).status_code == 404
    resolve = http.post(f"/admin/v1/conversations/{unknown}/resolve", headers=ADMIN)
    assert resolve.status_code == 404
    empty = http.post(f"/admin/v1/conversations/{key}/messages", json={"text": ""}, headers=ADMIN)
    assert empty.status_code == 422 and "text" in empty.json()["error"]
    draft = http.post(f"/admin/v1/conversations/{key}/draft/send", json={}, headers=ADMIN)
    assert draft.status_code == 409 and "draft" in draft.json()["error"]


def _check_actions(
    deskhand: Running, operator: dict[str, str], key: str, recorder: CallbackReceiver
) -> None:
    http = deskhand.http
    taken = http.post(f"/admin/v1/conversations/{key}/takeover", headers=operator)
    assert taken.status_code == 202 and taken.json()["queued"] is True
    status_becomes(deskhand, key, operator, "manual")
    said = "Hi, this is Ana from support: your refund was sent today."
    sent = http.post(
        f"/admin/v1/conversations/{key}/messages", json={"text": said}, headers=operator
    )
    assert sent.status_code == 202
    events = wait_for(lambda: _operator_events(recorder))
    assert events[0]["message"]["text"] == said and events[0]["message"]["author"] == "operator"
    assert events[0]["message"]["id"] == sent.json()["id"]
    entries = http.get(f"/admin/v1/conversations/{key}", headers=operator).json()["entries"]
    assert entries[-1]["author"] == "operator" and entries[-1]["text"] == said
    assert entries[-1]["meta"]["by"].startswith("operator-")
    assert http.post(f"/admin/v1/conversations/{key}/handback", headers=operator).status_code == 202
    status_becomes(deskhand, key, operator, "auto")
    assert http.post(f"/admin/v1/conversations/{key}/resolve", headers=operator).status_code == 202
    status_becomes(deskhand, key, operator, "resolved")
    assert key in listed(deskhand, operator, status="resolved")
    audit = http.get("/admin/v1/audit", headers=ADMIN).json()["items"]
    actions = [e["action"] for e in audit if e["target"] == key]
    for action in ("takeover", "message", "handback", "resolve"):
        assert f"conversation.{action}" in actions
    assert len(_operator_events(recorder)) == 1  # delivered once


def _operator_events(recorder: CallbackReceiver) -> list[dict[str, Any]]:
    bodies = [json.loads(body) for _, body in recorder.received]
    return [b for b in bodies if b.get("message", {}).get("author") == "operator"]


def test_an_approval_is_decided_once_from_the_conversation(start_deskhand: StartDeskhand) -> None:
    refund = {"order_id": "BL-10217", "amount": 89.0, "reason": "casserole arrived cracked"}
    with ScriptedModelServer() as model:
        model.set_script(
            [
                ScriptedResponse(
                    tool_calls=[ScriptedToolCall(name="request_refund", arguments=refund)]
                ),
                ScriptedResponse(content="Done: €89.00 for BL-10217 is on its way back to you."),
            ]
        )
        settings = {"llm_base_url": model.base_url, "admin_token": "admin-secret"}
        with start_deskhand(**settings) as deskhand:
            viewer, operator = token(deskhand, "viewer"), token(deskhand, "operator")
            conv = f"apr-{uuid.uuid4().hex[:8]}"
            key = f"demo:generic:{conv}"
            client = deskhand.client()
            text = "My casserole (order BL-10217) arrived cracked. I want my 89 euros back."
            client.wait_reply(conv, client.send(conv, text, DemoCustomer()), timeout_s=30)
            status_becomes(deskhand, key, viewer, "awaiting_approval")
            assert key in listed(deskhand, viewer, status="awaiting_approval")
            detail = deskhand.http.get(f"/admin/v1/conversations/{key}", headers=viewer).json()
            (pending,) = [a for a in detail["approvals"] if a["status"] == "pending"]
            (turn,) = deskhand.http.get(
                f"/admin/v1/conversations/{key}/turns", headers=viewer
            ).json()["items"]
            path = f"/admin/v1/conversations/{key}/approvals/{pending['id']}"
            as_viewer = deskhand.http.post(path, json={"decision": "approve"}, headers=viewer)
            invalid = deskhand.http.post(path, json={"decision": "maybe"}, headers=operator)
            other = f"/admin/v1/conversations/demo:generic:other/approvals/{pending['id']}"
            mismatch = deskhand.http.post(other, json={"decision": "approve"}, headers=operator)
            decided = deskhand.http.post(path, json={"decision": "approve"}, headers=operator)
            again = deskhand.http.post(path, json={"decision": "deny"}, headers=operator)
            status_becomes(deskhand, key, viewer, "auto")
            turns = deskhand.http.get(
                f"/admin/v1/conversations/{key}/turns", headers=viewer
            ).json()["items"]
    held = [c for c in turn["tool_calls"] if c.get("held_for_approval")]
    assert held and held[0]["tool"] == "request_refund" and held[0]["arguments"] == refund
    assert turn["approval"]["id"] == pending["id"]
    assert as_viewer.status_code == 403
    assert invalid.status_code == 422 and "decision" in invalid.json()["error"]
    assert mismatch.status_code == 404
    assert decided.status_code == 200 and decided.json()["approval"]["status"] == "approved"
    assert again.status_code == 409
    resumed = [c for c in turns[-1]["tool_calls"] if c.get("approved")]
    assert resumed and resumed[0]["ok"] is True and resumed[0]["arguments"] == refund


def test_a_draft_is_sent_once_or_discarded(
    start_deskhand: StartDeskhand, receiver: tuple[CallbackReceiver, str]
) -> None:
    recorder, url = receiver
    with ScriptedModelServer() as model:
        model.set_script([ScriptedResponse(content=ANSWER, repeat=2)])
        settings = {"llm_base_url": model.base_url, "admin_token": "admin-secret"}
        channels = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())["channels"]
        channels["generic"]["callback_url"] = url
        bot = {"channels": {**channels, "reply_mode": "draft"}}
        with start_deskhand(bot=bot, **settings) as deskhand:
            client = deskhand.client()
            sent, dropped = f"drf-{uuid.uuid4().hex[:8]}", f"drf-{uuid.uuid4().hex[:8]}"
            for conv in (sent, dropped):
                client.wait_reply(conv, client.send(conv, "Refund time?", DemoCustomer()), 30)
            keys = {conv: f"demo:generic:{conv}" for conv in (sent, dropped)}
            draft = wait_for(lambda: (summary(deskhand, keys[sent], ADMIN) or {}).get("draft"))
            path = f"/admin/v1/conversations/{keys[sent]}/draft"
            edited = {"text": "Refunds take a week."}
            first = deskhand.http.post(f"{path}/send", json=edited, headers=ADMIN)
            second = deskhand.http.post(f"{path}/send", json=edited, headers=ADMIN)
            wait_for(lambda: (summary(deskhand, keys[sent], ADMIN) or {}).get("draft") is None)
            entries = deskhand.http.get(
                f"/admin/v1/conversations/{keys[sent]}", headers=ADMIN
            ).json()["entries"]
            wait_for(lambda: (summary(deskhand, keys[dropped], ADMIN) or {}).get("draft"))
            drop = f"/admin/v1/conversations/{keys[dropped]}/draft/discard"
            discarded = deskhand.http.post(drop, headers=ADMIN)
            wait_for(lambda: (summary(deskhand, keys[dropped], ADMIN) or {}).get("draft") is None)
            after = deskhand.http.post(drop, headers=ADMIN)
    assert draft["text"] == ANSWER
    assert first.status_code == 202 and second.status_code == 409
    operator = [e for e in entries if e["author"] == "operator"]
    assert [e["text"] for e in operator] == ["Refunds take a week."]
    assert operator[0]["meta"]["draft_of"] == draft["message_id"]
    assert discarded.status_code == 202 and after.status_code == 409
    # The integration saw two drafts, and the customer only the operator's edit.
    events = [json.loads(body) for _headers, body in recorder.received]
    drafted = [e["message"]["text"] for e in events if e["type"] == "message.drafted"]
    created = [e["message"] for e in events if e["type"] == "message.created"]
    assert drafted == [ANSWER, ANSWER]
    assert [(m["author"], m["text"]) for m in created] == [("operator", "Refunds take a week.")]


def test_the_routes_are_documented(start_deskhand: StartDeskhand) -> None:
    with start_deskhand(admin_token="admin-secret") as deskhand:
        spec = httpx.get(f"{deskhand.base_url}/openapi.json").json()
    paths = spec["paths"]
    assert "get" in paths["/admin/v1/conversations"]
    assert "post" in paths["/admin/v1/conversations/{key}/takeover"]
    assert paths["/admin/v1/conversations/{key}/messages"]["post"]["security"]
