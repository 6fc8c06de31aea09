"""The demo shop as an HTTP API (FastAPI), as a tenant's own order system would be.

Every customer endpoint is scoped by ``email`` (the tool fills it from the verified
customer) and needs ``Authorization: Bearer <token>``. Writes honour ``Idempotency-Key``:
the same key on the same operation and order gets the first answer again, without acting
twice.
``/admin/snapshot`` and ``/admin/seed`` (admin token) serve replays' end-state checks.
Approval thresholds are not the API's business: the tool's approval rule decides.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tools.demo_shop.shop import Address, ShopData, ShopError
from tools.demo_shop.store import DemoShop

DEMO_SHOP_TOKEN = "demo-shop-token-not-for-production"  # noqa: S105 (a published demo value)
DEMO_SHOP_ADMIN_TOKEN = "demo-shop-admin-token-not-for-production"  # noqa: S105
_STATUS = {"not_found": 404, "conflict": 409}

Email = Annotated[str, Query(min_length=3, max_length=254, description="The customer's email.")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


class RefundRequest(BaseModel):
    amount: float = Field(gt=0, le=100_000, description="Amount to refund, in the order currency.")
    reason: str = Field(min_length=3, max_length=500, description="Why the customer wants it.")


def create_demo_shop_app(
    shop: DemoShop, token: str = DEMO_SHOP_TOKEN, admin_token: str = DEMO_SHOP_ADMIN_TOKEN
) -> FastAPI:
    app = FastAPI(title="Brightleaf demo shop", version="1", docs_url=None, redoc_url=None)
    app.state.shop = shop

    @app.exception_handler(ShopError)
    async def shop_error(request: Request, error: ShopError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=_STATUS[error.kind])

    customer = [Depends(_bearer(token))]
    app.add_api_route(
        "/orders",
        _list_orders,
        methods=["GET"],
        dependencies=customer,
        operation_id="listOrders",
        summary="The customer's orders, newest first.",
    )
    app.add_api_route(
        "/orders/{order_id}",
        _get_order,
        methods=["GET"],
        dependencies=customer,
        operation_id="getOrder",
        summary="One of the customer's orders.",
    )
    app.add_api_route(
        "/orders/{order_id}/shipment",
        _get_shipment,
        methods=["GET"],
        dependencies=customer,
        operation_id="trackShipment",
        summary="Where the order's parcel is.",
    )
    app.add_api_route(
        "/orders/{order_id}/refunds",
        _request_refund,
        methods=["POST"],
        dependencies=customer,
        operation_id="requestRefund",
        status_code=201,
        summary="Ask for a refund on a shipped or delivered order.",
    )
    app.add_api_route(
        "/orders/{order_id}/cancel",
        _cancel_order,
        methods=["POST"],
        dependencies=customer,
        operation_id="cancelOrder",
        summary="Cancel an order that has not been processed yet.",
    )
    app.add_api_route(
        "/orders/{order_id}/address",
        _update_address,
        methods=["PUT"],
        dependencies=customer,
        operation_id="updateAddress",
        summary="Change the delivery address of an order that has not shipped.",
    )
    admin = [Depends(_bearer(admin_token))]
    app.add_api_route(
        "/admin/snapshot", _snapshot, methods=["GET"], dependencies=admin, include_in_schema=False
    )
    app.add_api_route(
        "/admin/seed",
        _seed,
        methods=["PUT"],
        dependencies=admin,
        status_code=204,
        include_in_schema=False,
    )
    return app


def _bearer(token: str) -> Callable[[str | None], None]:
    def check(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization != f"Bearer {token}":
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check


def _shop(request: Request) -> DemoShop:
    shop: DemoShop = request.app.state.shop
    return shop


async def _list_orders(
    request: Request,
    email: Email,
    status: Literal["received", "processing", "shipped", "delivered", "cancelled"] | None = None,
) -> dict[str, Any]:
    orders = _shop(request).orders_of(email)
    fields = {"id", "status", "placed_at", "total", "currency", "estimated_delivery"}
    listed = [o.model_dump(include=fields, exclude_none=True) for o in orders]
    return {"orders": [o for o in listed if status is None or o["status"] == status]}


async def _get_order(request: Request, order_id: str, email: Email) -> dict[str, Any]:
    return _shop(request).order_view(order_id, email)


async def _get_shipment(request: Request, order_id: str, email: Email) -> dict[str, Any]:
    return _shop(request).shipment_for(order_id, email).model_dump(exclude_none=True)


async def _request_refund(
    request: Request, order_id: str, email: Email, body: RefundRequest, key: IdempotencyKey = None
) -> JSONResponse:
    shop = _shop(request)

    def act() -> Any:
        return shop.request_refund(order_id, email, body.amount, body.reason).model_dump()

    return _once(shop, key, ("refund", order_id, email), 201, act)


async def _cancel_order(
    request: Request, order_id: str, email: Email, key: IdempotencyKey = None
) -> JSONResponse:
    shop = _shop(request)

    def act() -> Any:
        shop.cancel(order_id, email)
        return shop.order_view(order_id, email)

    return _once(shop, key, ("cancel", order_id, email), 200, act)


async def _update_address(
    request: Request, order_id: str, email: Email, body: Address, key: IdempotencyKey = None
) -> JSONResponse:
    shop = _shop(request)

    def act() -> Any:
        shop.update_address(order_id, email, body)
        return shop.order_view(order_id, email)

    return _once(shop, key, ("address", order_id, email), 200, act)


async def _snapshot(request: Request) -> Response:
    return Response(_shop(request).snapshot(), media_type="application/json")


async def _seed(request: Request, fixture: ShopData) -> None:
    _shop(request).seed(fixture)


def _once(
    shop: DemoShop, key: str | None, request: object, status: int, act: Callable[[], Any]
) -> JSONResponse:
    """Run ``act`` once per Idempotency-Key; a repeat gets the first answer.

    A repeat is the same operation on the same order: the body may differ (a retried turn
    may word a refund's reason differently; the caller's key says it is the same refund).
    The key on another operation or order is refused with 409.
    """
    fingerprint = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    if key:
        previous = shop.recall(key, fingerprint)
        if previous is not None:
            return JSONResponse(previous[1], status_code=previous[0])
    body = act()
    if key:
        shop.remember(key, fingerprint, status, body)
    return JSONResponse(body, status_code=status)
