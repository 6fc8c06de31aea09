"""deskhand say / deskhand chat: talk to a running deskhand through its HTTP API."""

import uuid

import typer
from rich.console import Console

from agent.cli.client import ClientError, DemoCustomer, DeskhandClient, Reply
from agent.cli.common import console, fail, local_url, settings_or_exit
from agent.config.tenants import TenantRegistry
from agent.errors import DeskhandError

TenantOption = typer.Option(..., "--tenant", "-t", help="Tenant id (its bot file's name).")
UrlOption = typer.Option(None, help="deskhand's base URL (default: from DESKHAND_HOST/PORT).")
SecretOption = typer.Option(
    None,
    envvar="DESKHAND_SAY_SECRET",
    help="Signing secret (default: the first in the tenant's bot file).",
)
TokenOption = typer.Option(
    None,
    envvar="DESKHAND_SAY_TOKEN",
    help="API bearer token (default: the first in the tenant's bot file).",
)


def say(
    text: str = typer.Argument(..., help="The customer's message."),
    tenant: str = TenantOption,
    conversation: str | None = typer.Option(None, help="Conversation id (default: a new one)."),
    email: str = typer.Option(DemoCustomer.email, help="The customer's e-mail."),
    timeout: float = typer.Option(60.0, help="Seconds to wait for the reply."),
    url: str | None = UrlOption,
    secret: str | None = SecretOption,
    token: str | None = TokenOption,
) -> None:
    """Send one message as a customer (signed), wait for the reply and print it."""
    client = _client(tenant, url, secret, token)
    conversation_id = conversation or _new_conversation()
    customer = DemoCustomer(email=email)
    try:
        message_id = client.send(conversation_id, text, customer)
        show(client.wait_reply(conversation_id, message_id, timeout), console)
    except ClientError as error:
        fail(str(error))
    finally:
        client.close()


def chat(
    tenant: str = TenantOption,
    email: str = typer.Option(DemoCustomer.email, help="The customer's e-mail."),
    timeout: float = typer.Option(60.0, help="Seconds to wait for each reply."),
    url: str | None = UrlOption,
    secret: str | None = SecretOption,
    token: str | None = TokenOption,
) -> None:
    """An interactive conversation in the terminal (empty line or Ctrl-D ends it)."""
    client = _client(tenant, url, secret, token)
    conversation_id = _new_conversation()
    customer = DemoCustomer(email=email)
    console.print(f"[dim]conversation {tenant}:generic:{conversation_id} · as {email}[/]")
    try:
        while True:
            try:
                text = console.input("[bold cyan]you>[/] ").strip()
            except EOFError:
                break
            if not text:
                break
            message_id = client.send(conversation_id, text, customer)
            show(client.wait_reply(conversation_id, message_id, timeout), console)
    except ClientError as error:
        fail(str(error))
    finally:
        client.close()


def show(reply: Reply, out: Console) -> None:
    if not reply.text and reply.mode == "manual":
        out.print("[yellow](a person owns this conversation now; the bot stays silent)[/]")
        return
    out.print(f"[bold green]bot>[/] {reply.text}", highlight=False, soft_wrap=True)
    for source in reply.citations:
        where = source.get("url") or source.get("source", "")
        out.print(f"  [dim]source: {source.get('title', '')} — {where}[/]", highlight=False)
    if reply.approval:
        out.print(f"  [yellow]waiting for an operator: deskhand approve {reply.approval['id']}[/]")
    if reply.escalation:
        out.print(f"  [yellow]handed to a person ({reply.escalation.get('reason')})[/]")
    elif reply.degraded and reply.citations:
        out.print("  [dim](degraded mode: quoted from the knowledge base, no model)[/]")
    elif reply.degraded:
        out.print("  [dim](degraded mode: answered without a model)[/]")


def _client(tenant: str, url: str | None, secret: str | None, token: str | None) -> DeskhandClient:
    settings = settings_or_exit()
    if secret is None or token is None:
        try:
            bot = TenantRegistry.load(settings.tenants_dir).get(tenant)
        except DeskhandError as error:
            fail(f"{error} (pass --secret and --token to skip reading bot files)")
        generic = bot.channels.generic
        if generic is None:
            fail(f"tenant {tenant!r} has no generic channel in its bot file")
        secret = secret or generic.signing_secrets[0].get_secret_value()
        if token is None and bot.api_tokens:
            token = bot.api_tokens[0].get_secret_value()
    return DeskhandClient(url or local_url(settings), tenant, secret, token)


def _new_conversation() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"
