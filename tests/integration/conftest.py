"""A running deskhand over real HTTP: embedded Chroma with the demo help center, real
SQLite or Redis, a callback receiver, and the scripted model server when asked."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.api.app import create_app
from agent.background_server import BackgroundServer
from agent.cli.client import DeskhandClient
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.demo import DEMO_KB_DIR
from knowledge import KnowledgeConfig, KnowledgeStore, ingest_path
from tests.support.demo_shop import DEMO_TOOLS_FILE
from tests.support.redis_server import free_port

DEMO_SECRET = "whsec_ZGVza2hhbmQtZGVtby1zaWduaW5nLWtleS0wMDAwMDE="
DEMO_TOKEN = "demo-api-token-not-for-production"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose embedded Chroma holds the demo help center (ingested once)."""
    root = tmp_path_factory.mktemp("deskhand-data")
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=root / "chroma"))
    report = ingest_path(store, "demo", DEMO_KB_DIR)
    assert report.summary.added >= 10 and not report.failed
    return root


@dataclass
class CallbackReceiver:
    """Records the signed callbacks deskhand posts (the tenant's side of the generic channel)."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def receive(request: Request) -> JSONResponse:
            self.received.append((dict(request.headers), await request.body()))
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/events", receive, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[CallbackReceiver, str]]:
    recorder = CallbackReceiver()
    with BackgroundServer(recorder.app(), name="callback-receiver") as server:
        yield recorder, f"{server.base_url}/events"


@dataclass
class Running:
    base_url: str
    settings: Settings
    http: httpx.Client

    def client(self) -> DeskhandClient:
        return DeskhandClient(self.base_url, "demo", DEMO_SECRET, DEMO_TOKEN)


StartDeskhand = Callable[..., Any]


@pytest.fixture
def start_deskhand(data_dir: Path, tmp_path: Path) -> Iterator[StartDeskhand]:
    """Start deskhand (lifespan on, workers in process) with settings and bot overrides."""

    @contextmanager
    def start(bot: dict[str, Any] | None = None, **settings: Any) -> Iterator[Running]:
        tenants = tmp_path / f"tenants-{uuid.uuid4().hex[:6]}"
        tenants.mkdir()
        data = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
        data["tools_file"] = str(DEMO_TOOLS_FILE)  # the copy lives elsewhere
        data.get("channels", {}).get("generic", {}).update((bot or {}).pop("generic", {}))
        data.update(bot or {})
        (tenants / "demo.yaml").write_text(yaml.safe_dump(data))
        # The demo tools call the demo shop at 127.0.0.1:<port>/demo-shop: the port is known.
        settings = {"demo_shop": True, "port": free_port(), **settings}
        config = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=data_dir, tenants_dir=tenants, **settings
        )
        server = BackgroundServer(
            create_app(config), port=config.port, lifespan="on", name="deskhand"
        )
        with server, httpx.Client(base_url=server.base_url, timeout=10) as http:
            _wait_ready(http)
            yield Running(server.base_url, config, http)

    yield start


def _wait_ready(http: httpx.Client, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if http.get("/readyz").status_code == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"deskhand not ready: {http.get('/readyz').text}")
