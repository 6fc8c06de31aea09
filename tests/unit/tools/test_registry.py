import asyncio

import pytest
from pydantic import BaseModel

from tools.context import Customer, ToolContext
from tools.demo_shop import DemoShop, demo_shop_tools
from tools.errors import ToolExecutionError, ToolsError
from tools.registry import SideEffect, Tool, ToolInputError, ToolRegistry

ALEX = ToolContext("demo", "demo:generic:c1", Customer("cust_1001", "alex@example.com"))
SAM = ToolContext("demo", "demo:generic:c2", Customer("cust_1002", "sam@example.com"))


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry(demo_shop_tools(DemoShop.load()))


def test_schema_is_json_schema_without_titles(registry: ToolRegistry) -> None:
    (schema,) = registry.schemas(["lookup_order"])
    assert schema.name == "lookup_order"
    assert schema.parameters["type"] == "object"
    assert schema.parameters["required"] == ["order_id"]
    assert "title" not in schema.parameters["properties"]["order_id"]


async def test_customer_sees_their_own_order(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-10234"}, ALEX)
    assert outcome.ok
    assert outcome.content["status"] == "shipped"
    assert "customer_email" not in outcome.content


async def test_order_number_forms_are_normalised(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "#10234"}, ALEX)
    assert outcome.ok and outcome.content["id"] == "BL-10234"


async def test_another_customers_order_is_not_found(registry: ToolRegistry) -> None:
    mine = await registry.invoke("lookup_order", {"order_id": "BL-10240"}, SAM)
    theirs = await registry.invoke("lookup_order", {"order_id": "BL-10240"}, ALEX)
    assert mine.ok
    assert not theirs.ok and "no order" in theirs.content
    assert "sam@example.com" not in theirs.to_model_text()


async def test_unknown_order_is_a_correctable_message(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-99999"}, ALEX)
    assert not outcome.ok
    assert '"ok": false' in outcome.to_model_text()


async def test_bad_arguments_come_back_to_the_model(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order": "BL-10234"}, ALEX)
    assert not outcome.ok
    assert "order_id" in outcome.content
    assert registry.validation_error("lookup_order", {}) is not None
    assert registry.validation_error("lookup_order", {"order_id": "1"}) is None


async def test_unknown_tool_is_a_correctable_message(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("delete_account", {}, ALEX)
    assert not outcome.ok and "lookup_order" in outcome.content


class NoArgs(BaseModel):
    pass


async def test_system_failure_raises_a_typed_error() -> None:
    def broken(args: NoArgs, context: ToolContext) -> None:
        raise ConnectionError("backend down")

    registry = ToolRegistry([Tool("broken", "fails", NoArgs, broken)])
    with pytest.raises(ToolExecutionError, match="ConnectionError"):
        await registry.invoke("broken", {}, ALEX)


async def test_timeout_is_a_system_failure() -> None:
    async def slow(args: NoArgs, context: ToolContext) -> None:
        await asyncio.sleep(5)

    registry = ToolRegistry([Tool("slow", "slow", NoArgs, slow, SideEffect.READ, timeout_s=0.05)])
    with pytest.raises(ToolExecutionError, match="timed out"):
        await registry.invoke("slow", {}, ALEX)


async def test_handler_input_error_is_returned_not_raised() -> None:
    def picky(args: NoArgs, context: ToolContext) -> None:
        raise ToolInputError("try another id")

    registry = ToolRegistry([Tool("picky", "picky", NoArgs, picky)])
    outcome = await registry.invoke("picky", {}, ALEX)
    assert (outcome.ok, outcome.content) == (False, "try another id")


def test_duplicate_registration_is_refused(registry: ToolRegistry) -> None:
    with pytest.raises(ToolsError, match="already registered"):
        registry.register(demo_shop_tools(DemoShop.load())[0])


async def test_without_a_verified_customer_nothing_is_found(registry: ToolRegistry) -> None:
    anonymous = ToolContext("demo", "demo:generic:c3", None)
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-10234"}, anonymous)
    assert not outcome.ok
