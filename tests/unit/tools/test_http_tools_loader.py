"""Loading a tools file: the schema the model sees, and errors that name file and field."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.http_tools.loader import ToolsFileError, load_declarations, load_tools_file
from tools.registry import SideEffect

BASE = "https://orders.acme.example/api"


def lookup(**extra: Any) -> dict[str, Any]:
    return {
        "description": "Look up an order.",
        "method": "GET",
        "path": "/orders/{order_id}",
        "parameters": {"order_id": {"type": "string", "max_length": 40}},
        "customer_scope": {"param": "email", "from": "email"},
        **extra,
    }


def tools_file(tmp_path: Path, tools: dict[str, Any], **backend: Any) -> Path:
    data = {"version": 1, "backends": {"orders": {"base_url": BASE, **backend}}, "tools": tools}
    path = tmp_path / "acme-tools.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def problems(path: Path, allowed: list[str] | None = None, **kwargs: Any) -> str:
    with pytest.raises(ToolsFileError) as raised:
        load_declarations(path, ["orders.acme.example"] if allowed is None else allowed, **kwargs)
    message = str(raised.value)
    assert str(path) in message
    return message


def test_the_model_sees_the_parameters_but_never_the_scope(tmp_path: Path) -> None:
    (tool,) = load_tools_file(
        tools_file(tmp_path, {"lookup_order": lookup()}), allowed_hosts=["orders.acme.example"]
    )
    parameters = tool.schema().parameters
    assert parameters["properties"] == {"order_id": {"type": "string", "maxLength": 40}}
    assert parameters["required"] == ["order_id"]
    assert "email" not in json.dumps(parameters)
    assert tool.side_effect is SideEffect.READ


def test_defaults_place_parameters_and_pick_side_effects(tmp_path: Path) -> None:
    tools = {
        "search": {
            "description": "Search.",
            "method": "get",
            "path": "/orders",
            "parameters": {"q": {"type": "string"}, "page": {"type": "integer", "required": False}},
        },
        "note": {
            "description": "Add a note.",
            "method": "POST",
            "path": "/orders/{order_id}/notes",
            "parameters": {"order_id": {"type": "string"}, "text": {"type": "string"}},
        },
    }
    decls = load_declarations(tools_file(tmp_path, tools), ["orders.acme.example"])
    search, note = sorted(decls, key=lambda d: d.name, reverse=True)
    assert search.method == "GET" and search.params["q"].location == "query"
    assert note.params["order_id"].location == "path" and note.params["text"].location == "body"
    assert (search.side_effect, note.side_effect) == (SideEffect.READ, SideEffect.WRITE)
    assert search.to_tool().schema().parameters["required"] == ["q"]


@pytest.mark.parametrize(
    ("tool", "field"),
    [
        (lookup(methd="GET"), "tools.lookup_order.methd"),
        (lookup(method="FETCH"), "tools.lookup_order.method"),
        (lookup(description=None), "tools.lookup_order.description"),
        (lookup(path="/orders/{id}"), "tools.lookup_order.path"),
        (lookup(path="/orders/../admin/{order_id}"), "tools.lookup_order.path"),
        (lookup(path="orders/{order_id}"), "tools.lookup_order.path"),
        (lookup(path="/orders?x={order_id}"), "tools.lookup_order.path"),
        (lookup(parameters={"order_id": {"type": "text"}}), "tools.lookup_order.parameters"),
        (
            lookup(parameters={"order_id": {"type": "string", "in": "query"}}),
            "tools.lookup_order.parameters.order_id.in",
        ),
        (
            lookup(parameters={"order_id": {"type": "string", "required": False}}),
            "tools.lookup_order.parameters.order_id.required",
        ),
        (lookup(response=["items[0].name"]), "tools.lookup_order.response.0"),
        (lookup(idempotency_params=["amount"]), "tools.lookup_order.idempotency_params.0"),
        (
            lookup(parameters={"order_id": {"type": "string"}, "email": {"type": "string"}}),
            "tools.lookup_order.customer_scope.param",
        ),
        (lookup(customer_scope={"param": "email", "from": "phone"}), "customer_scope.from"),
        (lookup(approval={"param": "order_id", "above": 5}), "tools.lookup_order.approval.param"),
        (lookup(approval={"param": "order_id", "above": "limit"}), "approval.above"),
        (lookup(backend="billing"), "tools.lookup_order.backend"),
    ],
)
def test_each_problem_names_the_file_and_the_field(
    tmp_path: Path, tool: dict[str, Any], field: str
) -> None:
    tool = {k: v for k, v in tool.items() if v is not None}
    assert field in problems(tools_file(tmp_path, {"lookup_order": tool}))


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    tools = {"a": lookup(path="/orders/{id}"), "b": lookup(response=["x..y"])}
    message = problems(tools_file(tmp_path, tools))
    assert "tools.a.path" in message and "tools.b.response.0" in message


@pytest.mark.parametrize(
    ("base_url", "allowed", "expected"),
    [
        ("https://orders.acme.example/api", ["evil.example"], "not on the tenant's allowed hosts"),
        ("https://orders.acme.example/api", [], "allowed hosts (none)"),
        ("https://orders.acme.example/api", ["orders.acme.example:8443"], "not on the tenant"),
        ("https://acme.example/api", ["*.acme.example"], "not on the tenant"),
        ("https://user:pw@orders.acme.example/api", ["orders.acme.example"], "credentials"),
        ("https://orders.acme.example/api?x=1", ["orders.acme.example"], "query"),
        ("ftp://orders.acme.example/api", ["orders.acme.example"], "http"),
    ],
)
def test_base_urls_are_checked_against_the_tenants_hosts(
    tmp_path: Path, base_url: str, allowed: list[str], expected: str
) -> None:
    path = tools_file(tmp_path, {"lookup_order": lookup()})
    data = yaml.safe_load(path.read_text())
    data["backends"]["orders"]["base_url"] = base_url
    path.write_text(yaml.safe_dump(data))
    message = problems(path, allowed)
    assert "backends.orders.base_url" in message and expected in message


@pytest.mark.parametrize(
    "allowed", [["orders.acme.example"], ["*.acme.example"], ["ORDERS.acme.example:443"]]
)
def test_allowed_host_forms(tmp_path: Path, allowed: list[str]) -> None:
    path = tools_file(tmp_path, {"lookup_order": lookup()})
    assert len(load_declarations(path, allowed)) == 1


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    path = tools_file(tmp_path, {"lookup_order": lookup()}, auth={"bearer": "${ACME_ORDERS_TOKEN}"})
    message = problems(path, environ={})
    assert "backends.orders.auth.bearer: environment variable ACME_ORDERS_TOKEN is not set" in (
        message
    )
    (decl,) = load_declarations(path, ["orders.acme.example"], environ={"ACME_ORDERS_TOKEN": "t0k"})
    assert decl.backend.headers["Authorization"] == "Bearer t0k"
    assert "t0k" not in repr(decl)


def test_defaults_in_references_and_a_port_from_the_environment(tmp_path: Path) -> None:
    path = tools_file(tmp_path, {"lookup_order": lookup()})
    path.write_text(path.read_text().replace(BASE, "http://127.0.0.1:${SHOP_PORT:-8080}/shop"))
    (decl,) = load_declarations(path, ["127.0.0.1"])
    assert decl.backend.base_url == "http://127.0.0.1:8080/shop"
    (decl,) = load_declarations(path, ["127.0.0.1"], environ={"SHOP_PORT": "9000"})
    assert decl.backend.base_url == "http://127.0.0.1:9000/shop"


def test_auth_needs_exactly_one_kind(tmp_path: Path) -> None:
    auth = {"bearer": "a", "basic": {"username": "u", "password": "p"}}
    path = tools_file(tmp_path, {"lookup_order": lookup()}, auth=auth)
    assert "backends.orders.auth" in problems(path)


def test_a_key_given_twice_is_an_error_not_an_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "backends:\n  orders: {base_url: 'https://orders.acme.example'}\n"
        "tools:\n  a: {description: x, method: GET, path: /a}\n"
        "  a: {description: y, method: GET, path: /b}\n"
    )
    with pytest.raises(ToolsFileError, match=r"dup\.yaml is not valid YAML: 'a' is given twice"):
        load_declarations(path, ["orders.acme.example"])


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(ToolsFileError, match="cannot read tools file"):
        load_declarations(tmp_path / "missing.yaml", [])
    path = tmp_path / "list.yaml"
    path.write_text("- a\n")
    with pytest.raises(ToolsFileError, match="mapping at the top level"):
        load_declarations(path, [])


def test_approval_limits_come_from_the_tenant(tmp_path: Path) -> None:
    refund = {
        "description": "Refund.",
        "method": "POST",
        "path": "/refunds",
        "parameters": {"amount": {"type": "number"}},
        "side_effect": "sensitive",
        "approval": {"param": "amount", "above": "refund_limit"},
    }
    path = tools_file(tmp_path, {"refund": refund})
    (decl,) = load_declarations(path, ["orders.acme.example"], limits={"refund_limit": 25})
    assert decl.approval is not None
    assert "refund_limit" in str(decl.approval)
    message = problems(path, limits={"other": 1})
    assert "tools.refund.approval.above: no limit named 'refund_limit'" in message
    assert "(set: other)" in message
