"""One deskhand for a whole replay run: real HTTP, the real graph and stores, the demo
shop, and the scripted model server in front of the model (cassette or live).

The embedding model takes seconds to load, so a run starts deskhand once and gives every
conversation (and every repetition) fresh conversation ids instead.
"""

import secrets
import socket
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from agent.api.app import create_app
from agent.background_server import BackgroundServer
from agent.cli.client import DeskhandClient
from agent.config.derived import knowledge_config
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.config.tenants import TenantRegistry
from agent.demo import DEMO_KB_DIR
from agent.llm.stub import ScriptedModelServer
from agent.replay import routes
from agent.replay.errors import ReplayError
from agent.replay.model import ReplayModel, Upstream
from knowledge import KnowledgeStore, ingest_path
from tools.demo_shop import DEMO_SHOP_ADMIN_TOKEN


@dataclass(frozen=True)
class HarnessConfig:
    settings: Settings  # the environment's; the replay overrides port, model and data dir
    data_dir: Path | None = None  # None: a temporary one, with the demo help center
    live_url: str | None = None  # --live: the real endpoint behind the scripted server
    ready_timeout_s: float = 120.0


@dataclass
class Harness:
    config: HarnessConfig
    model: ReplayModel = field(init=False)
    settings: Settings = field(init=False)
    http: httpx.Client = field(init=False)
    tenants: TenantRegistry = field(init=False)
    _stack: ExitStack = field(init=False, default_factory=ExitStack)
    _clients: dict[str, DeskhandClient] = field(init=False, default_factory=dict)
    _admin_token: str = field(init=False, default_factory=lambda: secrets.token_urlsafe(16))

    def __enter__(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._stack.close()

    def _start(self) -> None:
        base = self.config.settings
        upstream = None
        if self.config.live_url is not None:
            api_key = base.llm_api_key.get_secret_value() if base.llm_api_key else None
            upstream = Upstream(self.config.live_url, api_key, base.llm_timeout_s)
            self._stack.callback(upstream.close)
        self.model = ReplayModel(upstream)
        stub = self._stack.enter_context(ScriptedModelServer(self.model, model_name=base.llm_model))
        data_dir = self.config.data_dir or Path(
            self._stack.enter_context(tempfile.TemporaryDirectory(prefix="deskhand-replay-"))
        )
        self.settings = base.model_copy(
            update=_overrides(base, data_dir, stub.base_url, self._admin_token)
        )
        self.tenants = TenantRegistry.load(self.settings.tenants_dir)
        _ingest_demo(self.settings)
        app = create_app(self.settings)
        routes.install(app)
        server = BackgroundServer(
            app, port=self.settings.port, lifespan="on", name="deskhand-replay"
        )
        self._stack.enter_context(server)
        self.http = self._stack.enter_context(httpx.Client(base_url=server.base_url, timeout=30))
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.ready_timeout_s
        while time.monotonic() < deadline:
            if self.http.get("/readyz").status_code == 200:
                return
            time.sleep(0.1)
        raise ReplayError(f"deskhand not ready: {self.http.get('/readyz').text}")

    @property
    def admin_token(self) -> str:
        """The admin API's token in this run (the console's browser test logs in with it)."""
        return self._admin_token

    # What the steps do

    def client(self, tenant: str) -> DeskhandClient:
        if tenant not in self._clients:
            bot = self.tenants.get(tenant)
            generic = bot.channels.generic
            if generic is None:
                raise ReplayError(f"tenant {tenant!r} has no generic channel to replay through")
            secret = generic.signing_secrets[0].get_secret_value()
            token = bot.api_tokens[0].get_secret_value() if bot.api_tokens else None
            self._clients[tenant] = DeskhandClient(str(self.http.base_url), tenant, secret, token)
        return self._clients[tenant]

    def conversation(self, key: str) -> dict[str, Any]:
        found: dict[str, Any] = self._ok(self.http.get(f"{routes.PREFIX}/conversations/{key}"))
        return found

    def set_conditions(self, tenant: str, tool_fails: list[str]) -> None:
        self._ok(
            self.http.post(f"{routes.PREFIX}/conditions", json={"tool_fails": {tenant: tool_fails}})
        )

    def set_clock(self, offset_s: float) -> None:
        """Run the graph's clock this many seconds ahead of real time (0: real time); the
        cassette keys mask the moved date accordingly."""
        self._ok(self.http.post(f"{routes.PREFIX}/clock", json={"offset_s": offset_s}))
        self.model.clock_offset_s = offset_s

    def change_mode(self, change: dict[str, Any]) -> None:
        self._ok(self.http.post(f"{routes.PREFIX}/mode", json=change))

    def seed_shop(self, data: dict[str, Any]) -> None:
        self._ok(self.http.put("/demo-shop/admin/seed", json=data, headers=_shop_admin()))

    def shop(self) -> dict[str, Any]:
        found: dict[str, Any] = self._ok(
            self.http.get("/demo-shop/admin/snapshot", headers=_shop_admin())
        )
        return found

    def pending_approvals(self, conversation_key: str) -> list[dict[str, Any]]:
        found = self._ok(self.http.get("/admin/v1/approvals", headers=self._admin()))
        return [a for a in found["approvals"] if a.get("conversation_key") == conversation_key]

    def decide(self, approval_id: str, approve: bool, note: str | None) -> None:
        body = {"decision": "approve" if approve else "deny", "operator": "replay", "note": note}
        self._ok(
            self.http.post(f"/admin/v1/approvals/{approval_id}", json=body, headers=self._admin())
        )

    def _admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._admin_token}"}

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ReplayError(
                f"{response.request.method} {response.request.url.path} answered "
                f"{response.status_code}: {response.text[:300]}"
            )
        return response.json() if response.content else None


def _shop_admin() -> dict[str, str]:
    return {"authorization": f"Bearer {DEMO_SHOP_ADMIN_TOKEN}"}


def _overrides(base: Settings, data_dir: Path, model_url: str, admin_token: str) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": _free_port(),
        "data_dir": data_dir,
        "demo_shop": True,
        "llm_base_url": model_url,
        "llm_backoff_base_s": 0.0,  # retries stay, without the waiting
        "llm_backoff_max_s": 0.0,
        "admin_token": SecretStr(admin_token),
    }


def _ingest_demo(settings: Settings) -> None:
    """The demo help center into the replay's knowledge base (unchanged documents are
    skipped), when the tenants are the packaged demo and the base is embedded."""
    if (
        settings.chroma_url is not None
        or settings.tenants_dir.resolve() != DEMO_TENANTS_DIR.resolve()
    ):
        return
    store = KnowledgeStore.open(knowledge_config(settings))
    report = ingest_path(store, "demo", DEMO_KB_DIR)
    if report.failed:
        raise ReplayError(f"could not load the demo help center: {report.failed}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
