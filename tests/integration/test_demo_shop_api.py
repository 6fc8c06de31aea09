"""The demo shop's API over real HTTP: every endpoint, its rules, idempotency, seed/snapshot."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.demo_shop import RunningShop, serve_demo_shop
from tools.demo_shop import DEMO_SHOP_ADMIN_TOKEN, DEMO_SHOP_TOKEN, load_fixture

ALEX = {"email": "alex@example.com"}
AUTH = {"authorization": f"Bearer {DEMO_SHOP_TOKEN}"}
ADMIN = {"authorization": f"Bearer {DEMO_SHOP_ADMIN_TOKEN}"}
ADDRESS = {"name": "Alex Morgan", "line1": "Oudegracht 1", "postal_code": "3511 AA",
           "city": "Utrecht", "country": "NL"}  # fmt: skip


@pytest.fixture(scope="module")
def running() -> Iterator[RunningShop]:
    with serve_demo_shop() as shop:
        yield shop


@pytest.fixture
def shop(running: RunningShop) -> Iterator[httpx.Client]:
    running.reset()
    with httpx.Client(base_url=running.base_url, headers=AUTH, timeout=5) as client:
        yield client


def test_every_endpoint_needs_the_token(running: RunningShop) -> None:
    with httpx.Client(base_url=running.base_url) as anonymous:
        assert anonymous.get("/orders", params=ALEX).status_code == 401
        wrong = anonymous.get("/orders", params=ALEX, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert anonymous.get("/admin/snapshot", headers=AUTH).status_code == 401


def test_get_an_order_scoped_by_email(shop: httpx.Client) -> None:
    order = shop.get("/orders/BL-10234", params=ALEX).json()
    assert order["status"] == "shipped" and "customer_email" not in order
    assert order["tracking_url"] == "https://track.brightleaf.example/BL-10234"
    assert shop.get("/orders/10234", params={"email": "ALEX@example.com"}).status_code == 200
    other = shop.get("/orders/BL-10240", params=ALEX)  # Sam's
    assert other.status_code == 404 and "sam" not in other.text
    assert shop.get("/orders/BL-10234").status_code == 422  # no email, no answer


def test_list_a_customers_orders(shop: httpx.Client) -> None:
    orders = shop.get("/orders", params=ALEX).json()["orders"]
    assert [o["id"] for o in orders] == ["BL-10251", "BL-10234", "BL-10217"]
    shipped = shop.get("/orders", params={**ALEX, "status": "shipped"}).json()["orders"]
    assert [o["id"] for o in shipped] == ["BL-10234"]
    assert shop.get("/orders", params={"email": "nobody@example.com"}).json() == {"orders": []}


def test_track_a_shipment(shop: httpx.Client) -> None:
    parcel = shop.get("/orders/BL-10234/shipment", params=ALEX).json()
    assert (parcel["carrier"], parcel["status"]) == ("PostNL", "in_transit")
    assert parcel["events"][-1]["location"] == "Nieuwegein"
    not_yet = shop.get("/orders/BL-10251/shipment", params=ALEX)
    assert not_yet.status_code == 409 and "has not shipped yet" in not_yet.json()["detail"]


def test_request_a_refund(shop: httpx.Client) -> None:
    body = {"amount": 89.0, "reason": "the casserole arrived cracked"}
    created = shop.post("/orders/BL-10217/refunds", params=ALEX, json=body)
    assert created.status_code == 201
    assert created.json() == {
        "id": "RF-5003",
        "order_id": "BL-10217",
        "amount": 89.0,
        "currency": "EUR",
        "reason": "the casserole arrived cracked",
        "status": "requested",
    }
    too_much = shop.post("/orders/BL-10217/refunds", params=ALEX, json=body)
    assert too_much.status_code == 409 and "at most 12.90 EUR" in too_much.json()["detail"]
    early = shop.post("/orders/BL-10251/refunds", params=ALEX, json=body)
    assert early.status_code == 409 and "cancel it instead" in early.json()["detail"]
    invalid = shop.post("/orders/BL-10217/refunds", params=ALEX, json={"amount": -1})
    assert invalid.status_code == 422


def test_a_repeated_idempotency_key_acts_once(shop: httpx.Client, running: RunningShop) -> None:
    key = {"Idempotency-Key": "dh_test_1"}
    body: dict[str, Any] = {"amount": 20.0, "reason": "chipped lid"}
    first = shop.post("/orders/BL-10217/refunds", params=ALEX, json=body, headers=key)
    body["reason"] = "the lid is chipped"  # a retried turn may word it differently
    again = shop.post("/orders/BL-10217/refunds", params=ALEX, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    refunds = json.loads(running.shop.snapshot())["refunds"]
    assert len([r for r in refunds if r["order_id"] == "BL-10217"]) == 1
    elsewhere = shop.post("/orders/BL-10234/cancel", params=ALEX, headers=key)
    assert elsewhere.status_code == 409 and "Idempotency-Key" in elsewhere.json()["detail"]


def test_cancel_only_while_received(shop: httpx.Client) -> None:
    cancelled = shop.post("/orders/BL-10251/cancel", params=ALEX)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["refunds"] == [{"id": "RF-5003", "amount": 36.95, "status": "issued"}]
    again = shop.post("/orders/BL-10251/cancel", params=ALEX)
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]
    processing = shop.post("/orders/BL-10240/cancel", params={"email": "sam@example.com"})
    assert processing.status_code == 409 and "can no longer be cancelled" in processing.text


def test_update_the_address_until_shipped(shop: httpx.Client) -> None:
    sam = {"email": "sam@example.com"}
    moved = {**ADDRESS, "name": "Sam Rivera", "city": "Valencia", "country": "ES"}
    updated = shop.put("/orders/BL-10240/address", params=sam, json=moved)
    assert updated.status_code == 200
    assert updated.json()["delivery_address"]["city"] == "Valencia"
    shipped = shop.put("/orders/BL-10234/address", params=ALEX, json=ADDRESS)
    assert shipped.status_code == 409 and "can no longer change" in shipped.json()["detail"]
    abroad = shop.put("/orders/BL-10251/address", params=ALEX, json={**ADDRESS, "country": "US"})
    assert abroad.status_code == 409 and "support team" in abroad.json()["detail"]
    nowhere = shop.put("/orders/BL-10251/address", params=ALEX, json={**ADDRESS, "country": "JP"})
    assert nowhere.status_code == 409 and "do not deliver to JP" in nowhere.json()["detail"]
    bad = shop.put("/orders/BL-10251/address", params=ALEX, json={**ADDRESS, "country": "nl"})
    assert bad.status_code == 422


def test_snapshot_is_canonical_and_seed_replaces_the_state(
    shop: httpx.Client, running: RunningShop
) -> None:
    snapshot = shop.get("/admin/snapshot", headers=ADMIN)
    assert snapshot.status_code == 200
    assert snapshot.text == running.shop.snapshot()
    data = json.loads(snapshot.text)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert snapshot.text == canonical
    assert [o["id"] for o in data["orders"]] == sorted(o["id"] for o in data["orders"])

    fixture = load_fixture().model_dump(mode="json")
    fixture["orders"] = [o for o in fixture["orders"] if o["id"] == "BL-10234"]
    assert shop.put("/admin/seed", headers=ADMIN, json=fixture).status_code == 204
    assert [o["id"] for o in shop.get("/orders", params=ALEX).json()["orders"]] == ["BL-10234"]
    assert shop.put("/admin/seed", headers=AUTH, json=fixture).status_code == 401

    running.shop.seed(load_fixture())
    assert running.shop.snapshot() == snapshot.text  # the same state, the same bytes
