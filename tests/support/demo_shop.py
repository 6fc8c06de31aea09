"""The demo shop's API on a real local port, and the demo tenant's HTTP tools calling it."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import Mount

from agent.background_server import BackgroundServer
from agent.config.settings import DEMO_TENANTS_DIR
from agent.config.tenants import TenantRegistry
from agent.tenant_tools import TenantTools
from tools.demo_shop import DemoShop, create_demo_shop_app, load_fixture
from tools.registry import ToolRegistry

DEMO_TOOLS_FILE = DEMO_TENANTS_DIR / "tools" / "demo-shop.yaml"


@dataclass
class RunningShop:
    shop: DemoShop
    server: BackgroundServer

    @property
    def port(self) -> int:
        return self.server.address[1]

    @property
    def base_url(self) -> str:
        return f"{self.server.base_url}/demo-shop"

    def reset(self) -> None:
        self.shop.seed(load_fixture())

    def tenant_tools(self, tenants: TenantRegistry | None = None) -> TenantTools:
        """The tenants' tools (the packaged demo by default), calling this shop."""
        registry = tenants or TenantRegistry.load(DEMO_TENANTS_DIR)
        return TenantTools.load(registry, {"DESKHAND_PORT": str(self.port)})

    def registry(self) -> ToolRegistry:
        """The demo tenant's registry, as deskhand builds it from the demo bot file."""
        return self.tenant_tools().get("demo")


@contextmanager
def serve_demo_shop() -> Iterator[RunningShop]:
    """The shop mounted under /demo-shop, as deskhand mounts it (DESKHAND_DEMO_SHOP=true)."""
    shop = DemoShop.load()
    app = Starlette(routes=[Mount("/demo-shop", app=create_demo_shop_app(shop))])
    with BackgroundServer(app, name="demo-shop") as server:
        yield RunningShop(shop, server)
