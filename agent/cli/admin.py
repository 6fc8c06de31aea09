"""deskhand admin token create|revoke|list: the admin API's bearer tokens, in the runtime
store the settings name (SQLite or Redis), as ``deskhand erase`` opens it."""

import asyncio
import getpass
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from agent.cli.common import console, fail, friendly_errors, settings_or_exit
from agent.config.settings import Settings

if TYPE_CHECKING:
    from agent.runtime.factory import Runtime

T = TypeVar("T")

app = typer.Typer(help="Administer the admin API: its tokens.", no_args_is_help=True)
token_app = typer.Typer(
    help="Admin API bearer tokens (viewer, operator, admin).", no_args_is_help=True
)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the token.")],
    role: Annotated[str, typer.Option("--role", help="viewer, operator or admin.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Scope the token to this tenant.")
    ] = None,
) -> None:
    """Create a token and print its secret: shown this once, only a hash is kept."""
    from agent.admin.roles import Role

    settings = settings_or_exit()
    try:
        chosen = Role.parse(role)
    except ValueError as error:
        fail(f"--role: {error}", code=2)
    with friendly_errors():
        if tenant is not None:
            _check_tenant(settings, tenant)
        issued = _run(settings, lambda runtime: _create(runtime, name, chosen, tenant))
    scope = f"tenant {tenant}" if tenant else "every tenant"
    console.print(f"created {issued.token.id} ({issued.token.role}, {scope}): {name}")
    console.print("secret (shown once; keep it safe):", highlight=False)
    typer.echo(issued.secret)


@token_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id (tok_...).")]) -> None:
    """Revoke a token: the admin API answers it 401 from now on."""
    settings = settings_or_exit()
    with friendly_errors():
        token = _run(settings, lambda runtime: _revoke(runtime, token_id))
    console.print(f"revoked {token.id} ({token.name})", highlight=False)


@token_app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Every token (never a secret), revoked ones too."""
    settings = settings_or_exit()
    with friendly_errors():
        tokens = _run(settings, lambda runtime: runtime.admin_tokens.all())
    if as_json:
        typer.echo(json.dumps([token.public() for token in tokens], indent=2))
        return
    if not tokens:
        console.print("no admin token yet: deskhand admin token create --name N --role admin")
    for token in tokens:
        state = f"revoked {_when(token.revoked_at)}" if token.revoked else "active"
        console.print(
            f"{token.id}  {token.name}  {token.role}  {token.tenant or '*'}  {state}"
            f"  created {_when(token.created_at)} by {token.created_by}"
            f"  last used {_when(token.last_used_at)}",
            highlight=False,
            soft_wrap=True,
        )


def _run(settings: Settings, work: "Callable[[Runtime], Awaitable[T]]") -> T:
    async def run() -> T:
        from agent.runtime.factory import open_runtime

        runtime = await open_runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(run())


async def _create(runtime: "Runtime", name: str, role: Any, tenant: str | None) -> Any:
    from agent.admin.tokens import issue_token

    issued = await issue_token(runtime.admin_tokens, name, role, _actor(), tenant)
    detail = {"name": issued.token.name, "role": issued.token.role, "tenant": tenant}
    await _audit(runtime, "token.create", issued.token.id, detail)
    return issued


async def _revoke(runtime: "Runtime", token_id: str) -> Any:
    from agent.admin.tokens import revoke_token

    token = await revoke_token(runtime.admin_tokens, token_id)
    await _audit(runtime, "token.revoke", token_id, {"name": token.name})
    return token


async def _audit(runtime: "Runtime", action: str, target: str, detail: dict[str, Any]) -> None:
    from agent.runtime.admin_records import AuditEntry

    await runtime.audit.append(AuditEntry(_actor(), "cli", action, target, time.time(), detail))


def _check_tenant(settings: Settings, tenant: str) -> None:
    from agent.config.tenants import TenantRegistry

    if tenant not in TenantRegistry.load(settings.tenants_dir):
        fail(f"--tenant: no bot file for tenant {tenant!r} in {settings.tenants_dir}", code=2)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _when(moment: float | None) -> str:
    if moment is None:
        return "never"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
