"""The registry: validation, errors, approval rules and idempotency keys.

The order tests run the demo tenant's declarative HTTP tools against the demo shop's API
on a real local port, as deskhand does.
"""

import asyncio
import json
from dataclasses import replace

import pytest
from pydantic import BaseModel

from tests.support.demo_shop import RunningShop
from tools.approval import ApprovalAbove, RequireApproval, never
from tools.context import Customer, ToolContext
from tools.errors import ToolExecutionError, ToolsError
from tools.idempotency import key_from_params
from tools.registry import SideEffect, Tool, ToolInputError, ToolOutcome, ToolRegistry, ToolStatus

ALEX = ToolContext("demo", "demo:generic:c1", Customer("cust_1001", "alex@example.com"))
SAM = ToolContext("demo", "demo:generic:c2", Customer("cust_1002", "sam@example.com"))


@pytest.fixture
def registry(demo_shop: RunningShop) -> ToolRegistry:
    return demo_shop.registry()


def test_schema_is_json_schema_without_titles(registry: ToolRegistry) -> None:
    (schema,) = registry.schemas(["lookup_order"])
    assert schema.name == "lookup_order"
    assert schema.parameters["type"] == "object"
    assert schema.parameters["required"] == ["order_id"]
    assert "title" not in schema.parameters["properties"]["order_id"]
    assert "email" not in json.dumps(schema.parameters)  # the scope is not the model's


async def test_customer_sees_their_own_order(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-10234"}, ALEX)
    assert outcome.ok and outcome.status is ToolStatus.OK
    assert outcome.content["status"] == "shipped"
    assert "customer_email" not in outcome.content


async def test_order_number_forms_are_normalised(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "#10234"}, ALEX)
    assert outcome.ok and outcome.content["id"] == "BL-10234"


async def test_another_customers_order_is_not_found(registry: ToolRegistry) -> None:
    mine = await registry.invoke("lookup_order", {"order_id": "BL-10240"}, SAM)
    theirs = await registry.invoke("lookup_order", {"order_id": "BL-10240"}, ALEX)
    assert mine.ok
    assert not theirs.ok and "not found" in theirs.content
    assert "sam@example.com" not in theirs.to_model_text()


async def test_the_model_cannot_choose_whose_order(registry: ToolRegistry) -> None:
    arguments = {"order_id": "BL-10240", "email": "sam@example.com"}
    outcome = await registry.invoke("lookup_order", arguments, ALEX)
    assert not outcome.ok and "not found" in outcome.content


async def test_unknown_order_is_a_correctable_message(registry: ToolRegistry) -> None:
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-99999"}, ALEX)
    assert not outcome.ok and outcome.status is ToolStatus.ERROR
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


async def test_without_a_verified_customer_nothing_is_found(registry: ToolRegistry) -> None:
    anonymous = ToolContext("demo", "demo:generic:c3", None)
    outcome = await registry.invoke("lookup_order", {"order_id": "BL-10234"}, anonymous)
    assert not outcome.ok


async def test_a_refund_above_the_tenants_limit_waits_for_approval(
    registry: ToolRegistry, demo_shop: RunningShop
) -> None:
    before = demo_shop.shop.snapshot()
    arguments = {"order_id": "BL-10217", "amount": 89.0, "reason": "the lid is cracked"}
    outcome = await registry.invoke("request_refund", arguments, ALEX)
    assert outcome.status is ToolStatus.APPROVAL_REQUIRED and not outcome.ok
    assert outcome.approval is not None
    assert outcome.approval.arguments == arguments
    assert "refund_threshold_eur" in outcome.approval.reason
    assert json.loads(outcome.to_model_text())["approval_required"] is True
    assert demo_shop.shop.snapshot() == before  # nothing was sent to the shop

    approved = await registry.invoke("request_refund", arguments, ALEX, approved=True)
    assert approved.ok and approved.content["amount"] == 89.0


async def test_a_refund_at_the_limit_runs_once_per_key(
    registry: ToolRegistry, demo_shop: RunningShop
) -> None:
    arguments = {"order_id": "BL-10217", "amount": 50, "reason": "scratched"}
    first = await registry.invoke("request_refund", arguments, ALEX)
    # A retried turn words the reason differently: same order and amount, same refund.
    again = {**arguments, "reason": "it arrived scratched"}
    second = await registry.invoke("request_refund", again, ALEX)
    assert first.ok and second.ok
    assert first.content == second.content
    refunds = json.loads(demo_shop.shop.snapshot())["refunds"]
    assert [r["amount"] for r in refunds if r["order_id"] == "BL-10217"] == [50.0]


class NoArgs(BaseModel):
    pass


class Amount(BaseModel):
    amount: float
    note: str = ""


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


def test_duplicate_registration_is_refused() -> None:
    registry = ToolRegistry([Tool("once", "once", NoArgs, lambda a, c: None)])
    with pytest.raises(ToolsError, match="already registered"):
        registry.register(Tool("once", "twice", NoArgs, lambda a, c: None))


def recording(calls: list[ToolContext]) -> Tool[Amount]:
    def handler(args: Amount, context: ToolContext) -> float:
        calls.append(context)
        return args.amount

    return Tool("pay", "pay", Amount, handler, SideEffect.WRITE)


async def test_the_handler_gets_a_stable_idempotency_key() -> None:
    calls: list[ToolContext] = []
    registry = ToolRegistry([recording(calls)])
    other = ToolContext("demo", "demo:generic:c9", ALEX.customer)
    await registry.invoke("pay", {"amount": 5}, ALEX)
    await registry.invoke("pay", {"amount": 5.0}, ALEX)  # canonical arguments: same call
    await registry.invoke("pay", {"amount": 6}, ALEX)
    await registry.invoke("pay", {"amount": 5}, other)
    keys = [c.idempotency_key for c in calls]
    assert all(keys) and keys[0] == keys[1]
    assert len({keys[0], keys[2], keys[3]}) == 3


async def test_a_tool_may_define_its_own_key() -> None:
    calls: list[ToolContext] = []
    tool = recording(calls)
    registry = ToolRegistry([replace(tool, idempotency_key=key_from_params(["amount"]))])
    await registry.invoke("pay", {"amount": 5, "note": "a"}, ALEX)
    await registry.invoke("pay", {"amount": 5, "note": "b"}, ALEX)
    assert calls[0].idempotency_key == calls[1].idempotency_key


async def test_declarative_and_typed_approval_rules() -> None:
    calls: list[ToolContext] = []
    tool = recording(calls)

    def anonymous_needs_approval(args: Amount, context: ToolContext) -> str | None:
        return "no verified customer" if context.customer is None else None

    registry = ToolRegistry(
        [
            replace(tool, name="above", approval=ApprovalAbove("amount", 10)),
            replace(tool, name="typed", approval=anonymous_needs_approval),
            replace(tool, name="always", approval=RequireApproval()),
        ]
    )
    anonymous = ToolContext("demo", "demo:generic:c3", None)
    assert (await registry.invoke("above", {"amount": 10}, ALEX)).ok
    held = await registry.invoke("above", {"amount": 10.5}, ALEX)
    assert held.needs_approval and held.approval is not None
    assert held.approval.reason == "amount 10.5 is above the approval limit 10"
    assert (await registry.invoke("typed", {"amount": 1}, ALEX)).ok
    assert (await registry.invoke("typed", {"amount": 1}, anonymous)).needs_approval
    assert (await registry.invoke("always", {"amount": 1}, ALEX)).needs_approval
    assert len(calls) == 2  # held-back calls never reached the handler
    done = await registry.invoke("above", {"amount": 10.5}, ALEX, approved=True)
    assert done.ok and calls[-1].idempotency_key == held.approval.idempotency_key


async def test_sensitive_tools_need_approval_unless_their_rule_says_otherwise() -> None:
    sensitive = replace(recording([]), side_effect=SideEffect.SENSITIVE)
    registry = ToolRegistry(
        [replace(sensitive, name="default"), replace(sensitive, name="relaxed", approval=never)]
    )
    assert (await registry.invoke("default", {"amount": 1}, ALEX)).needs_approval
    assert (await registry.invoke("relaxed", {"amount": 1}, ALEX)).ok


def test_outcome_status_follows_ok_and_approval_needs_its_request() -> None:
    assert ToolOutcome("t", True, 1).status is ToolStatus.OK
    assert ToolOutcome("t", False, "no").status is ToolStatus.ERROR
    with pytest.raises(ValueError, match="ApprovalRequest"):
        ToolOutcome("t", False, "no", ToolStatus.APPROVAL_REQUIRED)
