"""The real deskhand app behind httpx.ASGITransport, with its components opened (no
workers), and admin tokens of each role created through the token store."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from pydantic import SecretStr

from agent.admin.roles import Role
from agent.admin.tokens import issue_token
from agent.api.admin_knowledge import close_knowledge_jobs
from agent.api.app import create_app
from agent.components import Components
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from tests.support.demo_shop import DEMO_TOOLS_FILE

BOOTSTRAP = "bootstrap-admin-secret"


@dataclass
class AdminApp:
    app: FastAPI
    parts: Components
    http: httpx.AsyncClient
    secrets: dict[str, str] = field(default_factory=dict)  # token name -> secret

    async def token(self, name: str, role: Role, tenant: str | None = None) -> str:
        issued = await issue_token(self.parts.runtime.admin_tokens, name, role, "test", tenant)
        self.secrets[name] = issued.secret
        return issued.secret

    def auth(self, name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.secrets[name]}"}


def write_tenants(directory: Path, names: tuple[str, ...] = ("demo", "other")) -> Path:
    """Bot files for ``names``: copies of the demo tenant's."""
    directory.mkdir(parents=True, exist_ok=True)
    demo = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    for name in names:
        data = {**demo, "tenant": name, "tools_file": str(DEMO_TOOLS_FILE)}
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return directory


@asynccontextmanager
async def admin_app(tmp_path: Path, **overrides: Any) -> AsyncIterator[AdminApp]:
    """The app with tokens for each role: ``viewer``, ``operator``, ``admin``, ``admin-demo``
    (an admin scoped to tenant demo) and ``viewer-other`` (a viewer of tenant other)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=overrides.pop("data_dir", tmp_path / "data"),
        tenants_dir=overrides.pop("tenants_dir", None) or write_tenants(tmp_path / "tenants"),
        admin_token=SecretStr(BOOTSTRAP),
        **overrides,
    )
    app = create_app(settings, run_workers_in_process=False)
    parts = await Components.open(settings)
    app.state.components = parts
    app.state.embedder_ready = False
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://deskhand") as http:
            admin = AdminApp(app, parts, http)
            admin.secrets["bootstrap"] = BOOTSTRAP
            await admin.token("viewer", Role.VIEWER)
            await admin.token("operator", Role.OPERATOR)
            await admin.token("admin", Role.ADMIN)
            await admin.token("admin-demo", Role.ADMIN, tenant="demo")
            await admin.token("viewer-other", Role.VIEWER, tenant="other")
            yield admin
    finally:
        await close_knowledge_jobs(app)
        await parts.close()
