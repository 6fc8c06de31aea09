"""Each tenant's helpdesk: opened from its bot file, one store per tenant, reported by doctor."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.bot_reload import reload_bot
from agent.config import Settings, TenantRegistry
from agent.doctor import _helpdesks
from agent.errors import ConfigError, DependencyUnavailable
from agent.tenant_helpdesks import TenantHelpdesks, builtin_store_path
from agent.tenant_tools import TenantTools
from tools.context import Customer, ToolContext
from tools.errors import HelpdeskConfigError
from tools.ticketing.builtin import BuiltinTicketStore
from tools.ticketing.zendesk import ZendeskClient

ZENDESK = {
    "platform": "zendesk",
    "subdomain": "acme",
    "email": "bot@acme.example",
    "api_token": "${ZD_TOKEN}",
}
ALEX = Customer("cust_1001", "alex@example.com", "Alex")


def write(directory: Path, tenant: str, **extra: Any) -> Path:
    data = {"tenant": tenant, "company": tenant.title(), "persona": "You help.", **extra}
    path = directory / f"{tenant}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def settings(tmp_path: Path, tenants: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", tenants_dir=tenants)  # type: ignore[call-arg]


async def test_each_tenant_gets_its_own_builtin_store(tmp_path: Path) -> None:
    tools = ["create_ticket", "list_my_tickets"]
    write(tmp_path, "acme", tools=tools)
    write(tmp_path, "globex", tools=tools)
    tenants = TenantRegistry.load(tmp_path)
    helpdesks = await TenantHelpdesks.open(tenants, tmp_path / "data")
    try:
        registries = TenantTools.load(tenants, {}, helpdesks)
        args = {"subject": "Lamp flickers", "description": "My Aurora lamp flickers."}
        context = ToolContext("acme", "acme:generic:c1", ALEX)
        created = await registries.get("acme").invoke("create_ticket", args, context)
        globex = ToolContext("globex", "globex:generic:c1", ALEX)
        listed = await registries.get("globex").invoke("list_my_tickets", {}, globex)
    finally:
        await helpdesks.aclose()
    assert created.ok and listed.ok
    assert listed.content == {"tickets": []}  # the same customer, another tenant: nothing
    for tenant in ("acme", "globex"):
        assert builtin_store_path(tmp_path / "data", tenant).is_file()
    store = await BuiltinTicketStore.open(builtin_store_path(tmp_path / "data", "acme"))
    try:
        assert [t.subject for t in await store.list_customer_tickets(ALEX)] == ["Lamp flickers"]
    finally:
        await store.aclose()


async def test_a_cloud_helpdesk_is_built_from_the_bot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZD_TOKEN", "zd-secret-token")
    write(tmp_path, "acme", helpdesk=ZENDESK)
    helpdesks = await TenantHelpdesks.open(TenantRegistry.load(tmp_path), tmp_path / "data")
    try:
        assert isinstance(helpdesks.get("acme"), ZendeskClient)
    finally:
        await helpdesks.aclose()


async def test_settings_the_client_refuses_name_the_bot_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(platform: str, options: object) -> None:
        raise HelpdeskConfigError("zendesk: subdomain is not what Zendesk accepts")

    monkeypatch.setattr("agent.tenant_helpdesks.open_ticketing_backend", refuse)
    path = write(tmp_path, "acme", helpdesk={**ZENDESK, "api_token": "t"})
    with pytest.raises(ConfigError) as raised:
        await TenantHelpdesks.open(TenantRegistry.load(tmp_path), tmp_path / "data")
    assert f"invalid configuration in {path}:\n  helpdesk: zendesk: subdomain" in str(raised.value)


async def test_a_builtin_store_that_cannot_be_opened_is_a_dependency_failure(
    tmp_path: Path,
) -> None:
    write(tmp_path, "acme")
    write(tmp_path, "globex")
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    with pytest.raises(DependencyUnavailable, match="helpdesk of tenant 'acme'"):
        await TenantHelpdesks.open(TenantRegistry.load(tmp_path), blocked)


def test_a_zendesk_subdomain_is_checked_in_the_bot_file(tmp_path: Path) -> None:
    path = write(tmp_path, "acme", helpdesk={**ZENDESK, "subdomain": "-bad"})
    with pytest.raises(ConfigError, match=r"helpdesk\.zendesk\.subdomain"):
        TenantRegistry.load(tmp_path, environ={"ZD_TOKEN": "t"})
    assert path.is_file()


def test_a_tools_file_tool_may_not_take_a_builtin_name(tmp_path: Path) -> None:
    tools = {
        "backends": {"crm": {"base_url": "https://crm.acme.example"}},
        "tools": {"create_ticket": {"description": "Mine.", "method": "POST", "path": "/t"}},
    }
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "crm.yaml").write_text(yaml.safe_dump(tools))
    path = write(tmp_path, "acme", tools_file="tools/crm.yaml", tool_hosts=["crm.acme.example"])
    with pytest.raises(ConfigError) as raised:
        TenantTools.load(TenantRegistry.load(tmp_path), {})
    message = str(raised.value)
    assert "tools/crm.yaml" in message and str(path) in message
    assert "tools: create_ticket is the name of a built-in tool; rename it" in message


async def test_doctor_reports_platform_and_address_never_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZD_TOKEN", "zd-secret-token")
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    write(tenants, "acme", helpdesk=ZENDESK)
    write(tenants, "globex")
    check = await _helpdesks(settings(tmp_path, tenants))
    assert check.ok, check.detail
    assert "acme: zendesk at https://acme.zendesk.com (settings checked, not contacted)" in (
        check.detail
    )
    assert f"globex: builtin store {tmp_path / 'data' / 'tickets' / 'globex.sqlite3'}" in (
        check.detail
    )
    assert "zd-secret-token" not in check.detail and "bot@acme.example" not in check.detail


async def test_doctor_names_the_file_of_a_bad_helpdesk(tmp_path: Path) -> None:
    path = write(tmp_path, "acme", helpdesk={"platform": "freshdesk", "base_url": "https://x.io"})
    check = await _helpdesks(settings(tmp_path, tmp_path))
    assert not check.ok
    assert str(path) in check.detail and "helpdesk.freshdesk.api_key" in check.detail


async def test_a_reload_naming_another_helpdesk_connection_keeps_the_open_one_and_says_so(
    tmp_path: Path,
) -> None:
    write(tmp_path, "acme", helpdesk=ZENDESK, tools=["create_ticket"])
    environ = {"ZD_TOKEN": "first-token"}
    tenants = TenantRegistry.load(tmp_path, environ=environ)
    helpdesks = await TenantHelpdesks.open(tenants, tmp_path / "data")
    tools = TenantTools.load(tenants, environ, helpdesks)
    opened = helpdesks.get("acme")
    try:
        timeout_only = {**ZENDESK, "tool_timeout_s": 5}
        write(tmp_path, "acme", helpdesk=timeout_only, tools=["create_ticket"])
        kept = reload_bot(tenants, tools, helpdesks, "acme", environ)
        assert kept.restart_needed == ()  # the tool timeout is not part of the connection
        assert tools.get("acme").get("create_ticket").timeout_s == 5

        rotated = reload_bot(tenants, tools, helpdesks, "acme", {"ZD_TOKEN": "second-token"})
        assert rotated.restart_needed == ("helpdesk",)  # a credential changed
        write(tmp_path, "acme", helpdesk={**ZENDESK, "subdomain": "globex"}, tools=[])
        moved = reload_bot(tenants, tools, helpdesks, "acme", environ)
        assert moved.restart_needed == ("helpdesk",)
        assert helpdesks.get("acme") is opened  # still the connection the process opened
        assert tenants.get("acme").tools == []
    finally:
        await helpdesks.aclose()
