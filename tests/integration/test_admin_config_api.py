"""/admin/v1/config and /admin/v1/health: redacted settings and bot files, validation,
reload without a restart (audited), dependency states with the model's circuit."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from agent.config.settings import DEMO_TENANTS_DIR
from tests.support.admin_app import AdminApp, admin_app
from tests.support.demo_shop import DEMO_TOOLS_FILE
from tools.approval import ApprovalAbove

LLM_KEY = "sk-do-not-show-0123456789"


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[AdminApp]:
    # A model endpoint nobody listens on: its check fails fast, its circuit is shown.
    async with admin_app(
        tmp_path,
        llm_base_url="http://127.0.0.1:9",
        llm_api_key=SecretStr(LLM_KEY),
        llm_timeout_s=1.0,
        llm_connect_timeout_s=1.0,
    ) as running:
        yield running


def bot_yaml(tmp_path: Path, **changes: object) -> str:
    data = yaml.safe_load((tmp_path / "tenants" / "demo.yaml").read_text())
    data.update(changes)
    return yaml.safe_dump(data)


async def test_settings_and_bot_files_are_redacted(admin: AdminApp) -> None:
    http = admin.http
    response = await http.get("/admin/v1/config/settings", headers=admin.auth("admin"))
    assert response.status_code == 200
    settings = response.json()["settings"]
    assert settings["llm_api_key"] == "***" and settings["admin_token"] == "***"
    assert settings["llm_base_url"] == "http://127.0.0.1:9"
    assert LLM_KEY not in response.text and "bootstrap-admin-secret" not in response.text
    assert response.json()["tenants"] == ["demo", "other"]

    bot = await http.get("/admin/v1/config/tenants/demo", headers=admin.auth("admin"))
    assert bot.status_code == 200
    data = bot.json()["bot"]
    assert data["tenant"] == "demo" and data["company"] == "Brightleaf Home"
    demo = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    secrets = [t for t in demo.get("api_tokens", [])]
    assert secrets and all(secret not in bot.text for secret in secrets)
    assert data["api_tokens"] == ["***"] * len(secrets)


async def test_roles_and_scopes(admin: AdminApp) -> None:
    http = admin.http
    assert (await http.get("/admin/v1/config/settings")).status_code == 401
    bad = {"authorization": "Bearer nope"}
    assert (await http.get("/admin/v1/health", headers=bad)).status_code == 401
    for path in ("/admin/v1/config/settings", "/admin/v1/config/tenants/demo"):
        assert (await http.get(path, headers=admin.auth("operator"))).status_code == 403
    reload = await http.post("/admin/v1/config/tenants/demo/reload", headers=admin.auth("operator"))
    assert reload.status_code == 403
    scoped = admin.auth("admin-demo")
    assert (await http.get("/admin/v1/config/settings", headers=scoped)).status_code == 403
    assert (await http.get("/admin/v1/config/tenants/other", headers=scoped)).status_code == 404
    assert (await http.get("/admin/v1/config/tenants/demo", headers=scoped)).status_code == 200
    other = await http.post("/admin/v1/config/tenants/other/reload", headers=scoped)
    assert other.status_code == 404
    unknown = await http.get("/admin/v1/config/tenants/nope", headers=admin.auth("admin"))
    assert unknown.status_code == 404


async def test_validate_names_the_field(admin: AdminApp, tmp_path: Path) -> None:
    http = admin.http
    url = "/admin/v1/config/tenants/demo/validate"
    headers = {**admin.auth("admin"), "content-type": "application/yaml"}
    valid = await http.post(url, content=bot_yaml(tmp_path), headers=headers)
    assert valid.status_code == 200 and valid.json() == {"valid": True}

    negative = bot_yaml(tmp_path, approvals={"refund_threshold_eur": -5})
    invalid = await http.post(url, content=negative, headers=headers)
    assert invalid.status_code == 422
    (problem,) = invalid.json()["problems"]
    assert problem["field"] == "approvals.refund_threshold_eur"
    assert invalid.json()["error"].startswith("approvals.refund_threshold_eur:")

    renamed = await http.post(url, content=bot_yaml(tmp_path, tenant="other"), headers=headers)
    assert renamed.status_code == 422 and renamed.json()["problems"][0]["field"] == "tenant"
    tools = await http.post(
        url, content=bot_yaml(tmp_path, tools_file="nope.yaml"), headers=headers
    )
    assert tools.status_code == 422 and tools.json()["problems"][0]["field"] == "tools_file"
    broken = await http.post(url, content="persona: [unclosed", headers=headers)
    assert broken.status_code == 422 and "YAML" in broken.json()["error"]
    listing = await http.post(url, content="- a\n- b\n", headers=headers)
    assert listing.status_code == 422
    low = await http.post(url, content=bot_yaml(tmp_path), headers=admin.auth("viewer"))
    assert low.status_code == 403


async def test_reload_uses_the_new_file_and_keeps_the_old_on_error(
    admin: AdminApp, tmp_path: Path
) -> None:
    http = admin.http
    path = tmp_path / "tenants" / "demo.yaml"
    path.write_text(bot_yaml(tmp_path, company="Brightleaf Lighting"))
    reloaded = await http.post("/admin/v1/config/tenants/demo/reload", headers=admin.auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["bot"]["company"] == "Brightleaf Lighting"
    assert admin.parts.tenants.get("demo").company == "Brightleaf Lighting"
    assert admin.parts.turns is not None  # the registry the graph and turns share changed

    path.write_text(bot_yaml(tmp_path, retrieval={"top_k": 0}))
    failed = await http.post("/admin/v1/config/tenants/demo/reload", headers=admin.auth("admin"))
    assert failed.status_code == 422
    assert failed.json()["problems"][0]["field"] == "retrieval.top_k"
    assert admin.parts.tenants.get("demo").company == "Brightleaf Lighting"

    audit = await http.get("/admin/v1/audit?action=config.reload", headers=admin.auth("admin"))
    outcomes = [e["detail"]["ok"] for e in audit.json()["items"]]
    assert outcomes == [False, True]


async def test_a_reload_enables_exactly_the_tools_the_new_file_names(
    admin: AdminApp, tmp_path: Path
) -> None:
    http = admin.http
    path = tmp_path / "tenants" / "demo.yaml"
    started = admin.parts.tools.get("demo").names
    assert "cancel_order" in started
    fewer = sorted(started - {"cancel_order"})
    path.write_text(bot_yaml(tmp_path, tools=fewer))
    reloaded = await http.post("/admin/v1/config/tenants/demo/reload", headers=admin.auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert admin.parts.tools.get("demo").names == set(fewer)  # no longer callable

    path.write_text(bot_yaml(tmp_path, tools=[*fewer, "launch_rockets"]))
    failed = await http.post("/admin/v1/config/tenants/demo/reload", headers=admin.auth("admin"))
    assert failed.status_code == 422 and "launch_rockets" in failed.json()["error"]
    assert admin.parts.tools.get("demo").names == set(fewer)
    assert set(admin.parts.tenants.get("demo").tools) == set(fewer)


async def test_a_reload_builds_the_tools_again_from_the_new_files(
    admin: AdminApp, tmp_path: Path
) -> None:
    """The tools file is read again, with the bot file's new approval thresholds and
    helpdesk tool timeout: a lowered refund threshold holds back the next refund."""
    http = admin.http
    url = "/admin/v1/config/tenants/demo/reload"
    tools = admin.parts.tools
    refund = tools.get("demo").get("request_refund").approval
    assert isinstance(refund, ApprovalAbove) and refund.limit == 50

    declared = yaml.safe_load(DEMO_TOOLS_FILE.read_text())
    declared["tools"]["order_again"] = {
        **declared["tools"]["lookup_order"],
        "description": "Look an order up again.",
    }
    tools_file = tmp_path / "more-tools.yaml"
    tools_file.write_text(yaml.safe_dump(declared))
    enabled = [*yaml.safe_load(bot_yaml(tmp_path))["tools"], "order_again"]
    (tmp_path / "tenants" / "demo.yaml").write_text(
        bot_yaml(
            tmp_path,
            tools_file=str(tools_file),
            tools=enabled,
            approvals={"refund_threshold_eur": 20},
            helpdesk={"platform": "builtin", "tool_timeout_s": 4},
        )
    )
    reloaded = await http.post(url, headers=admin.auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["restart_needed"] == []  # a tool timeout is not the connection
    registry = tools.get("demo")
    assert "order_again" in registry.names
    refund = registry.get("request_refund").approval
    assert isinstance(refund, ApprovalAbove) and refund.limit == 20
    assert registry.get("create_ticket").timeout_s == 4

    declared["tools"]["order_again"]["path"] = "not a path"
    tools_file.write_text(yaml.safe_dump(declared))
    failed = await http.post(url, headers=admin.auth("admin"))
    assert failed.status_code == 422 and "more-tools.yaml" in failed.json()["error"]
    assert tools.get("demo") is registry  # the tools in use stay


async def test_a_reload_that_changes_the_helpdesk_connection_says_a_restart_applies_it(
    admin: AdminApp, tmp_path: Path
) -> None:
    http = admin.http
    url = "/admin/v1/config/tenants/demo/reload"
    helpdesk = {"platform": "builtin", "handoff_group_id": "tier-2"}
    (tmp_path / "tenants" / "demo.yaml").write_text(bot_yaml(tmp_path, helpdesk=helpdesk))
    reloaded = await http.post(url, headers=admin.auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    assert reloaded.json()["restart_needed"] == ["helpdesk"]
    # Still true on the next reload: the connection open is the one the process started with.
    again = await http.post(url, headers=admin.auth("admin"))
    assert again.json()["restart_needed"] == ["helpdesk"]
    started = {"platform": "builtin"}  # the demo's, every option at its default
    (tmp_path / "tenants" / "demo.yaml").write_text(bot_yaml(tmp_path, helpdesk=started))
    back = await http.post(url, headers=admin.auth("admin"))
    assert back.json()["restart_needed"] == []
    audit = await http.get("/admin/v1/audit?action=config.reload", headers=admin.auth("admin"))
    assert [e["detail"]["restart_needed"] for e in audit.json()["items"]] == [
        [],
        ["helpdesk"],
        ["helpdesk"],
    ]


async def test_dependencies_show_the_model_circuit(admin: AdminApp) -> None:
    response = await admin.http.get("/admin/v1/health", headers=admin.auth("viewer"))
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["stores"] == {"ok": True, "mode": "embedded", "detail": "ok"}
    assert checks["chroma"]["ok"] is True and checks["chroma"]["embedder_ready"] is False
    model = checks["model"]
    assert model["ok"] is False and model["configured"] is True
    assert model["circuit"]["state"] == "closed"
    assert LLM_KEY not in response.text
    assert response.json()["ok"] is True  # a model outage degrades, it does not fail


@pytest.mark.redis
async def test_dependencies_include_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    async with admin_app(tmp_path, redis_url=redis_url, redis_prefix=redis_prefix) as admin:
        response = await admin.http.get("/admin/v1/health", headers=admin.auth("viewer"))
    checks = response.json()["checks"]
    assert checks["stores"]["mode"] == "redis" and checks["stores"]["ok"] is True
    assert checks["redis"]["ok"] is True and "Redis" in checks["redis"]["detail"]
    assert checks["model"] == {
        "ok": False,
        "configured": False,
        "detail": "DESKHAND_LLM_BASE_URL is not set",
    }
