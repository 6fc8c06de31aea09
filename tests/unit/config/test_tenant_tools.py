"""Bot files with a tools file: resolution, hosts, limits, enabled names, per-tenant registries."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import TenantRegistry, load_bot_file
from agent.errors import ConfigError
from agent.tenant_tools import TenantTools

TOOLS = {
    "backends": {"orders": {"base_url": "https://orders.acme.example/api"}},
    "tools": {
        "lookup_order": {
            "description": "Look up an order.",
            "method": "GET",
            "path": "/orders/{order_id}",
            "parameters": {"order_id": {"type": "string"}},
            "customer_scope": {"param": "email", "from": "email"},
        },
        "refund": {
            "description": "Refund.",
            "method": "POST",
            "path": "/refunds",
            "parameters": {"amount": {"type": "number"}},
            "approval": {"param": "amount", "above": "refund_limit"},
        },
    },
}


def bot(tenant: str = "acme", **extra: Any) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "company": "Acme",
        "persona": "You are Acme's assistant.",
        "tools_file": "tools/acme.yaml",
        "tools": ["lookup_order", "refund"],
        "tool_hosts": ["orders.acme.example"],
        "approvals": {"refund_limit": 40},
        **extra,
    }


def write(directory: Path, data: dict[str, Any], tools: dict[str, Any] = TOOLS) -> Path:
    (directory / "tools").mkdir(exist_ok=True)
    (directory / "tools" / "acme.yaml").write_text(yaml.safe_dump(tools))
    path = directory / f"{data['tenant']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def load(directory: Path) -> TenantTools:
    return TenantTools.load(TenantRegistry.load(directory), {})


def test_tools_file_is_relative_to_the_bot_file(tmp_path: Path) -> None:
    loaded = load_bot_file(write(tmp_path, bot()))
    assert loaded.tools_file == (tmp_path / "tools" / "acme.yaml").resolve()
    assert loaded.approvals == {"refund_limit": 40.0}


def test_a_missing_tools_file_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, bot(tools_file="tools/nope.yaml"))
    with pytest.raises(ConfigError, match=r"tools_file: .*nope\.yaml does not exist"):
        load_bot_file(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tool_hosts", ["https://orders.acme.example"], "tool_hosts"),
        ("tool_hosts", ["orders.acme.example:99999"], "invalid port"),
        ("approvals", {"Refund Limit": 40}, "approvals"),
        ("approvals", {"refund_limit": -1}, "approvals.refund_limit"),
    ],
)
def test_invalid_hosts_and_limits_are_named(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_bot_file(write(tmp_path, bot(**{field: value})))


def test_each_tenant_gets_its_enabled_tools_only(tmp_path: Path) -> None:
    write(tmp_path, bot(tools=["lookup_order"]))
    registry = load(tmp_path).get("acme")
    assert registry.names == {"lookup_order"}  # declared but not enabled: not callable


def test_an_unknown_enabled_tool_names_the_bot_file(tmp_path: Path) -> None:
    path = write(tmp_path, bot(tools=["lookup_order", "refund_everything"]))
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = str(raised.value)
    assert str(path) in message and "tools: unknown tool(s) refund_everything" in message
    assert "available: create_ticket, get_ticket, list_my_tickets, lookup_order, refund" in message


def test_a_host_off_the_tenants_list_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, bot(tool_hosts=["orders.other.example"]))
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = str(raised.value)
    assert "tools/acme.yaml" in message and "backends.orders.base_url" in message
    assert "orders.acme.example" in message and str(path) in message


def test_an_approval_limit_the_bot_does_not_set_is_refused(tmp_path: Path) -> None:
    write(tmp_path, bot(approvals={}))
    with pytest.raises(ConfigError, match=r"tools\.refund\.approval\.above: no limit named"):
        load(tmp_path)


def test_a_bot_without_tools_file_may_enable_no_http_tool(tmp_path: Path) -> None:
    data = bot(tools=["lookup_order"])
    del data["tools_file"]
    write(tmp_path, data)
    builtin_only = r"available: create_ticket, get_ticket, list_my_tickets$"
    with pytest.raises(ConfigError, match=builtin_only):
        load(tmp_path)


def test_registries_are_per_tenant(tmp_path: Path) -> None:
    write(tmp_path, bot())
    other = bot("globex", tools=[])
    del other["tools_file"]
    (tmp_path / "globex.yaml").write_text(yaml.safe_dump(other))
    tools = load(tmp_path)
    assert tools.get("acme").names == {"lookup_order", "refund"}
    assert tools.get("globex").names == set()
