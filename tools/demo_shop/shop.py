"""The demo shop's records and rules, in memory, seeded from a fixture (data.json).

The rules follow the demo help center: an order can be cancelled while "received";
its delivery address can change until it ships ("received" or "processing"), within a
region (the EU, or the UK / US / Canada); a refund needs a shipped or delivered order and
never exceeds what is left to refund. Every read is scoped by the customer's email: an
order of someone else is "not found", exactly like one that does not exist.
"""

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tools.errors import ToolsError

DATA_FILE = Path(__file__).with_name("data.json")
_ORDER_DIGITS = re.compile(r"(\d{4,})")
_EU_CODES = "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE"
EU = frozenset(_EU_CODES.split())
OVERSEAS = frozenset({"GB", "US", "CA"})
OrderStatus = Literal["received", "processing", "shipped", "delivered", "cancelled"]


class ShopError(ToolsError):
    """A request the shop refuses; ``kind`` decides the HTTP status."""

    def __init__(self, kind: Literal["not_found", "conflict"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_Record):
    id: str
    email: str
    name: str


class Address(_Record):
    name: str = Field(min_length=1, max_length=100)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(min_length=2, max_length=12)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 code, e.g. NL")


class OrderItem(_Record):
    name: str
    quantity: int
    price: float


class Order(_Record):
    id: str
    customer_email: str
    status: OrderStatus
    placed_at: str
    shipping: Literal["standard", "express"]
    items: list[OrderItem]
    shipping_cost: float = 0.0
    total: float
    currency: str
    delivery_address: Address
    estimated_delivery: str | None = None
    delivered_at: str | None = None

    def for_customer(self) -> dict[str, Any]:
        """The order as shown to its owner (no internal fields)."""
        return self.model_dump(exclude={"customer_email"}, exclude_none=True)


class ShipmentEvent(_Record):
    at: str
    status: str
    location: str


class Shipment(_Record):
    id: str
    order_id: str
    carrier: str
    tracking_number: str
    tracking_url: str
    status: Literal["in_transit", "out_for_delivery", "delivered", "returned"]
    estimated_delivery: str | None = None
    delivered_at: str | None = None
    events: list[ShipmentEvent] = Field(default_factory=list)


class Refund(_Record):
    id: str
    order_id: str
    amount: float
    currency: str
    reason: str
    status: Literal["requested", "issued"]


class ShopData(_Record):
    customers: list[Customer]
    orders: list[Order]
    shipments: list[Shipment] = Field(default_factory=list)
    refunds: list[Refund] = Field(default_factory=list)


def normalise_order_id(order_ref: str) -> str:
    """'10234', 'bl-10234' and '#BL-10234' all mean BL-10234."""
    match = _ORDER_DIGITS.search(order_ref)
    return f"BL-{match.group(1)}" if match else order_ref.strip().upper()


def load_fixture(path: Path = DATA_FILE) -> ShopData:
    try:
        return ShopData.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as error:
        raise ToolsError(f"cannot load demo shop data from {path}: {error}") from None
