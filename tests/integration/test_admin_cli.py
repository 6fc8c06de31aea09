"""deskhand admin token create|list|revoke, on the runtime store the settings name
(embedded SQLite, and Redis), audited."""

import asyncio
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.admin.tokens import verify_token
from agent.cli.main import app
from agent.config.settings import Settings
from agent.runtime.admin_records import AuditFilter
from agent.runtime.factory import open_runtime
from tests.support.admin_app import write_tenants

runner = CliRunner()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DESKHAND_TENANTS_DIR", str(write_tenants(tmp_path / "tenants")))
    if request.param == "redis":
        monkeypatch.setenv("DESKHAND_REDIS_URL", request.getfixturevalue("redis_url"))
        monkeypatch.setenv("DESKHAND_REDIS_PREFIX", request.getfixturevalue("redis_prefix"))


async def _check(secret: str) -> tuple[str | None, list[str]]:
    runtime = await open_runtime(Settings(_env_file=None))  # type: ignore[call-arg]
    try:
        token = await verify_token(runtime.admin_tokens, secret)
        page = await runtime.audit.page(AuditFilter(), 50, None)
    finally:
        await runtime.close()
    return (token.role if token else None), [entry.action for entry in page.items]


def test_create_list_revoke(environment: None) -> None:
    created = runner.invoke(
        app, ["admin", "token", "create", "--name", "ci", "--role", "operator", "--tenant", "demo"]
    )
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert re.fullmatch(r"dhk_[A-Za-z0-9_-]{40,}", secret)
    token_id = re.search(r"created (tok_[0-9a-f]+)", created.output).group(1)  # type: ignore[union-attr]
    assert asyncio.run(_check(secret)) == ("operator", ["token.create"])

    listed = runner.invoke(app, ["admin", "token", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (token,) = json.loads(listed.output)
    assert (token["id"], token["name"], token["role"], token["tenant"]) == (
        token_id,
        "ci",
        "operator",
        "demo",
    )
    assert token["created_by"].startswith("cli") and secret not in listed.output
    human = runner.invoke(app, ["admin", "token", "list"])
    assert token_id in human.output and "active" in human.output

    revoked = runner.invoke(app, ["admin", "token", "revoke", token_id])
    assert revoked.exit_code == 0 and f"revoked {token_id}" in revoked.output
    assert asyncio.run(_check(secret)) == (None, ["token.revoke", "token.create"])
    assert "revoked" in runner.invoke(app, ["admin", "token", "list"]).output


def test_bad_input_is_refused(environment: None) -> None:
    role = runner.invoke(app, ["admin", "token", "create", "--name", "x", "--role", "root"])
    tenant = runner.invoke(
        app, ["admin", "token", "create", "--name", "x", "--role", "admin", "--tenant", "nope"]
    )
    unknown = runner.invoke(app, ["admin", "token", "revoke", "tok_nope"])
    empty = runner.invoke(app, ["admin", "token", "create", "--name", " ", "--role", "admin"])
    assert role.exit_code == 2 and "--role" in role.output
    assert tenant.exit_code == 2 and "nope" in tenant.output
    assert unknown.exit_code == 1 and "tok_nope" in unknown.output
    assert empty.exit_code == 1 and "name" in empty.output
    assert "no admin token yet" in runner.invoke(app, ["admin", "token", "list"]).output
