"""Tools declared from an OpenAPI document (the demo shop's own), and response selectors."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.demo_shop import RunningShop
from tools.context import Customer, ToolContext
from tools.demo_shop import DemoShop, create_demo_shop_app
from tools.http_tools.loader import ToolsFileError, load_tools_file
from tools.http_tools.openapi import OpenApiError, declaration
from tools.http_tools.select import parse_selector, select
from tools.registry import SideEffect, ToolRegistry

ALEX = ToolContext("demo", "demo:generic:c1", Customer("cust_1001", "alex@example.com"))
SCOPE = {"param": "email", "from": "email"}


def openapi_tools(tmp_path: Path, base_url: str, tools: dict[str, Any]) -> Path:
    document = create_demo_shop_app(DemoShop.load()).openapi()
    (tmp_path / "shop.openapi.json").write_text(json.dumps(document))
    backend = {
        "base_url": base_url,
        "openapi": "shop.openapi.json",
        "auth": {"bearer": "demo-shop-token-not-for-production"},
    }
    path = tmp_path / "tools.yaml"
    path.write_text(yaml.safe_dump({"backends": {"shop": backend}, "tools": tools}))
    return path


async def test_operations_become_tools_and_the_scope_stays_hidden(
    tmp_path: Path, demo_shop: RunningShop
) -> None:
    tools = {
        "lookup_order": {"operation": "getOrder", "customer_scope": SCOPE},
        "request_refund": {
            "operation": "requestRefund",
            "customer_scope": SCOPE,
            "description": "Refund part of an order.",
            "side_effect": "sensitive",
            "approval": {"param": "amount", "above": 50},
        },
    }
    path = openapi_tools(tmp_path, demo_shop.base_url, tools)
    registry = ToolRegistry(load_tools_file(path, allowed_hosts=["127.0.0.1"]))
    lookup, refund = registry.get("lookup_order"), registry.get("request_refund")
    assert lookup.description == "One of the customer's orders."
    assert lookup.schema().parameters["required"] == ["order_id"]
    assert "email" not in json.dumps(refund.schema().parameters)
    properties = refund.schema().parameters["properties"]
    assert set(properties) == {"order_id", "amount", "reason"}
    assert properties["amount"]["exclusiveMinimum"] == 0
    assert refund.side_effect is SideEffect.SENSITIVE

    found = await registry.invoke("lookup_order", {"order_id": "BL-10234"}, ALEX)
    assert found.ok and found.content["id"] == "BL-10234"
    held = await registry.invoke(
        "request_refund", {"order_id": "BL-10217", "amount": 60, "reason": "broken"}, ALEX
    )
    assert held.needs_approval


def test_an_unknown_operation_names_the_field_and_the_choices(tmp_path: Path) -> None:
    path = openapi_tools(tmp_path, "http://127.0.0.1/shop", {"x": {"operation": "getOrdre"}})
    with pytest.raises(ToolsFileError) as raised:
        load_tools_file(path, allowed_hosts=["127.0.0.1"])
    message = str(raised.value)
    assert "tools.x.operation: no operation 'getOrdre'" in message and "getOrder" in message


def test_an_operation_needs_the_backends_document(tmp_path: Path) -> None:
    path = tmp_path / "tools.yaml"
    backend = {"base_url": "http://127.0.0.1/shop", "openapi": "missing.json"}
    path.write_text(
        yaml.safe_dump({"backends": {"s": backend}, "tools": {"x": {"operation": "getOrder"}}})
    )
    with pytest.raises(ToolsFileError) as raised:
        load_tools_file(path, allowed_hosts=["127.0.0.1"])
    assert "backends.s.openapi: cannot read OpenAPI document" in str(raised.value)


IDS = {"name": "ids", "in": "query", "required": True, "schema": {"type": "array"}}


def test_local_references_and_unsupported_shapes() -> None:
    document = {
        "paths": {
            "/things": {
                "post": {
                    "operationId": "make",
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/T"}}
                        }
                    },
                },
                "put": {
                    "operationId": "bulk",
                    "parameters": [IDS],
                },
            }
        },
        "components": {
            "schemas": {
                "Kind": {"type": "string", "enum": ["a", "b"]},
                "T": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {"kind": {"$ref": "#/components/schemas/Kind"}},
                },
            }
        },
    }
    made = declaration(document, "make")
    assert made["parameters"] == {
        "kind": {"type": "string", "required": True, "in": "body", "enum": ["a", "b"]}
    }
    with pytest.raises(OpenApiError, match="only scalars"):
        declaration(document, "bulk")


ORDER = {
    "id": "BL-1",
    "status": "shipped",
    "items": [{"name": "lamp", "price": 49, "sku": "L1"}, {"name": "mug", "sku": "M1"}],
    "shipping": {"carrier": "PostNL", "internal_cost": 3.1},
}


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["id", "status"], {"id": "BL-1", "status": "shipped"}),
        (
            ["items[*].name", "$.shipping.carrier"],
            {"items": [{"name": "lamp"}, {"name": "mug"}], "shipping": {"carrier": "PostNL"}},
        ),
        (["items[*].price"], {"items": [{"price": 49}]}),
        (["shipping"], {"shipping": ORDER["shipping"]}),
        (["missing", "id.deeper"], {}),
    ],
)
def test_selectors_keep_the_named_fields(selectors: list[str], expected: Any) -> None:
    assert select(ORDER, [parse_selector(s) for s in selectors]) == expected


def test_selectors_on_a_top_level_list() -> None:
    data = [{"id": 1, "x": 2}, {"id": 3}]
    assert select(data, [parse_selector("[*].id")]) == [{"id": 1}, {"id": 3}]
    assert select(data, [parse_selector("id")]) == []


@pytest.mark.parametrize("text", ["", "$.", "a..b", "items[0]", "a b", "items[*]x"])
def test_malformed_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"selects nothing|not a field name"):
        parse_selector(text)
