"""``DemoShop``: the shop's state in memory and the operations its API offers."""

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.demo_shop.shop import (
    DATA_FILE,
    EU,
    OVERSEAS,
    Address,
    Order,
    Refund,
    Shipment,
    ShopData,
    ShopError,
    load_fixture,
    normalise_order_id,
)

_CANCELLABLE = ("received",)
_ADDRESS_CHANGEABLE = ("received", "processing")
_REFUNDABLE = ("shipped", "delivered")


class DemoShop:
    """Thread-safe: the API serves it on one thread while a test or replay reads it."""

    def __init__(self, data: ShopData) -> None:
        self._lock = threading.RLock()
        self._idempotent: dict[str, tuple[str, int, Any]] = {}
        self.seed(data)

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> "DemoShop":
        return cls(load_fixture(path))

    # State as a whole (for replays' end-state checks)

    def seed(self, fixture: ShopData | Mapping[str, Any]) -> None:
        """Replace the whole state (and forget idempotency keys)."""
        data = fixture if isinstance(fixture, ShopData) else ShopData.model_validate(fixture)
        with self._lock:
            self._data = data.model_copy(deep=True)
            self._idempotent.clear()

    def snapshot_data(self) -> dict[str, Any]:
        with self._lock:
            data = self._data.model_dump(mode="json")
        for records in data.values():
            records.sort(key=lambda record: record["id"])
        return data

    def snapshot(self) -> str:
        """Canonical JSON: sorted keys, records sorted by id, no insignificant whitespace."""
        return json.dumps(
            self.snapshot_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )

    # Reads, scoped by the customer's email

    def order_for(self, order_ref: str, customer_email: str | None) -> Order | None:
        """The order if it exists *and* belongs to the customer; otherwise None."""
        order_id = normalise_order_id(order_ref)
        with self._lock:
            order = next((o for o in self._data.orders if o.id == order_id), None)
        if order is None or not customer_email:
            return None
        if order.customer_email.lower() != customer_email.strip().lower():
            return None
        return order

    def orders_of(self, customer_email: str) -> list[Order]:
        email = customer_email.strip().lower()
        with self._lock:
            mine = [o for o in self._data.orders if o.customer_email.lower() == email]
        return sorted(mine, key=lambda o: o.placed_at, reverse=True)

    def order_view(self, order_ref: str, email: str) -> dict[str, Any]:
        order = self._owned(order_ref, email)
        view = order.for_customer()
        shipment = self._shipment(order.id)
        if shipment is not None:
            view["tracking_url"] = shipment.tracking_url
            view["carrier"] = shipment.carrier
        refunds = self._refunds(order.id)
        if refunds:
            view["refunds"] = [r.model_dump(include={"id", "amount", "status"}) for r in refunds]
        return view

    def shipment_for(self, order_ref: str, email: str) -> Shipment:
        order = self._owned(order_ref, email)
        shipment = self._shipment(order.id)
        if shipment is None:
            raise ShopError(
                "conflict", f"order {order.id} has not shipped yet (it is {order.status})"
            )
        return shipment

    # Writes

    def request_refund(self, order_ref: str, email: str, amount: float, reason: str) -> Refund:
        with self._lock:
            order = self._owned(order_ref, email)
            if order.status not in _REFUNDABLE:
                hint = "cancel it instead" if order.status == "received" else "nothing to refund"
                raise ShopError(
                    "conflict", f"order {order.id} is {order.status}; {hint} ({order.id})"
                )
            left = round(order.total - sum(r.amount for r in self._refunds(order.id)), 2)
            if round(amount, 2) > left:
                raise ShopError(
                    "conflict", f"at most {left:.2f} {order.currency} can be refunded on {order.id}"
                )
            return self._add_refund(order, round(amount, 2), reason, "requested")

    def cancel(self, order_ref: str, email: str) -> Order:
        with self._lock:
            order = self._owned(order_ref, email)
            if order.status not in _CANCELLABLE:
                raise ShopError("conflict", _not_cancellable(order))
            cancelled = self._replace(order, status="cancelled", estimated_delivery=None)
            self._add_refund(cancelled, order.total, "order cancelled", "issued")
            return cancelled

    def update_address(self, order_ref: str, email: str, address: Address) -> Order:
        with self._lock:
            order = self._owned(order_ref, email)
            if order.status not in _ADDRESS_CHANGEABLE:
                raise ShopError(
                    "conflict",
                    f"order {order.id} is {order.status}; the address can no longer change",
                )
            _check_destination(order.delivery_address.country, address.country)
            return self._replace(order, delivery_address=address)

    # Idempotency keys (the API's: a retried request gets the first answer again)

    def recall(self, key: str, fingerprint: str) -> tuple[int, Any] | None:
        with self._lock:
            found = self._idempotent.get(key)
        if found is None:
            return None
        if found[0] != fingerprint:
            raise ShopError("conflict", "this Idempotency-Key was used for another request")
        return found[1], found[2]

    def remember(self, key: str, fingerprint: str, status: int, body: Any) -> None:
        with self._lock:
            self._idempotent[key] = (fingerprint, status, body)

    # Internals

    def _owned(self, order_ref: str, email: str) -> Order:
        order = self.order_for(order_ref, email)
        if order is None:
            raise ShopError("not_found", f"no order {order_ref!r} for this customer")
        return order

    def _shipment(self, order_id: str) -> Shipment | None:
        with self._lock:
            return next((s for s in self._data.shipments if s.order_id == order_id), None)

    def _refunds(self, order_id: str) -> list[Refund]:
        with self._lock:
            return [r for r in self._data.refunds if r.order_id == order_id]

    def _replace(self, order: Order, **changes: Any) -> Order:
        updated = order.model_copy(update=changes)
        self._data.orders = [updated if o.id == order.id else o for o in self._data.orders]
        return updated

    def _add_refund(self, order: Order, amount: float, reason: str, status: str) -> Refund:
        numbers = [int(r.id.removeprefix("RF-")) for r in self._data.refunds]
        refund = Refund.model_validate(
            {
                "id": f"RF-{max(numbers, default=5000) + 1}",
                "order_id": order.id,
                "amount": amount,
                "currency": order.currency,
                "reason": reason,
                "status": status,
            }
        )
        self._data.refunds.append(refund)
        return refund


def _not_cancellable(order: Order) -> str:
    if order.status == "cancelled":
        return f"order {order.id} is already cancelled"
    return (
        f"order {order.id} is {order.status} and can no longer be cancelled; "
        "it can be returned within 30 days of delivery"
    )


def _check_destination(current: str, new: str) -> None:
    if new not in EU | OVERSEAS:
        raise ShopError("conflict", f"we do not deliver to {new}")
    if (current in EU) != (new in EU):
        raise ShopError(
            "conflict",
            "moving an order between the EU and the UK, US or Canada is done by our "
            "support team, who confirm any difference in cost first",
        )
