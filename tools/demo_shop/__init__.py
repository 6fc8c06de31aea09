"""The sample shop behind the demo tenant: customers and orders, read-only."""

from tools.demo_shop.shop import DemoShop, Order
from tools.demo_shop.tools import demo_shop_tools

__all__ = ["DemoShop", "Order", "demo_shop_tools"]
