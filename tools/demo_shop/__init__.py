"""The sample shop behind the demo tenant: customers, orders, shipments and refunds,
served as an HTTP API (``create_demo_shop_app``) that the demo tenant's declarative HTTP
tools call, like a team's own order system."""

from tools.demo_shop.api import DEMO_SHOP_ADMIN_TOKEN, DEMO_SHOP_TOKEN, create_demo_shop_app
from tools.demo_shop.shop import Order, ShopData, ShopError, load_fixture
from tools.demo_shop.store import DemoShop

__all__ = [
    "DEMO_SHOP_ADMIN_TOKEN",
    "DEMO_SHOP_TOKEN",
    "DemoShop",
    "Order",
    "ShopData",
    "ShopError",
    "create_demo_shop_app",
    "load_fixture",
]
