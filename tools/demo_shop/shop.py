"""The demo shop's records, loaded from a JSON file."""

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tools.errors import ToolsError

DATA_FILE = Path(__file__).with_name("data.json")
_ORDER_DIGITS = re.compile(r"(\d{4,})")


class OrderItem(BaseModel):
    name: str
    quantity: int
    price: float


class Order(BaseModel):
    id: str
    customer_email: str
    status: str
    placed_at: str
    shipping: str
    items: list[OrderItem]
    total: float
    currency: str
    estimated_delivery: str | None = None
    delivered_at: str | None = None
    tracking_url: str | None = None

    def for_customer(self) -> dict[str, Any]:
        """The order as shown to its owner (no internal fields)."""
        return self.model_dump(exclude={"customer_email"}, exclude_none=True)


class ShopData(BaseModel):
    orders: list[Order]


class DemoShop:
    def __init__(self, orders: list[Order]) -> None:
        self._orders = {order.id: order for order in orders}

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "DemoShop":
        try:
            data = ShopData.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError) as error:
            raise ToolsError(f"cannot load demo shop data from {path}: {error}") from None
        return cls(data.orders)

    def order_for(self, order_ref: str, customer_email: str | None) -> Order | None:
        """The order if it exists *and* belongs to the customer; otherwise None."""
        order = self._orders.get(normalise_order_id(order_ref))
        if order is None or customer_email is None:
            return None
        if order.customer_email.lower() != customer_email.lower():
            return None
        return order

    def orders_of(self, customer_email: str) -> list[Order]:
        email = customer_email.lower()
        return [o for o in self._orders.values() if o.customer_email.lower() == email]


def normalise_order_id(order_ref: str) -> str:
    """'10234', 'bl-10234' and '#BL-10234' all mean BL-10234."""
    match = _ORDER_DIGITS.search(order_ref)
    return f"BL-{match.group(1)}" if match else order_ref.strip().upper()
