"""The demo shop's tools, as the model sees them."""

from typing import Any

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.demo_shop.shop import DemoShop
from tools.registry import SideEffect, Tool, ToolInputError


class LookupOrderArgs(BaseModel):
    order_id: str = Field(
        min_length=1, max_length=40, description="The order number, e.g. BL-10234."
    )


def demo_shop_tools(shop: DemoShop) -> list[Tool[Any]]:
    def lookup_order(args: LookupOrderArgs, context: ToolContext) -> dict[str, Any]:
        email = context.customer.email if context.customer else None
        order = shop.order_for(args.order_id, email)
        if order is None:
            # Same answer for "does not exist" and "belongs to someone else".
            raise ToolInputError(f"no order {args.order_id!r} found for this customer")
        return order.for_customer()

    return [
        Tool(
            name="lookup_order",
            description=(
                "Look up one of the current customer's orders by its order number: status, "
                "items, total, shipping method, tracking link and delivery dates."
            ),
            args_model=LookupOrderArgs,
            handler=lookup_order,
            side_effect=SideEffect.READ,
            timeout_s=5.0,
        )
    ]
