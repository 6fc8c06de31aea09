"""deskhand erase: remove one customer's data (the right to erasure)."""

import asyncio
from typing import Annotated

import typer

from agent.cli.common import console, fail, friendly_errors, settings_or_exit
from agent.config.settings import Settings


def erase(
    customer: Annotated[
        str, typer.Option("--customer", help="The customer's id, as the helpdesk sends it.")
    ],
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="Only this tenant (repeatable; default: every tenant)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer's conversations, transcripts and traces, checkpoints and built-in tickets.

    Conversations are found through the customer index kept since each conversation's
    first message. Tickets in a cloud helpdesk are not touched: use its own deletion tools.
    """
    settings = settings_or_exit()
    if not customer.strip():
        fail("--customer must not be empty", code=2)
    if not yes:
        typer.confirm(
            f"Erase every record of customer {customer!r}? This cannot be undone", abort=True
        )
    with friendly_errors():
        lines = asyncio.run(_erase(settings, customer, tenant or []))
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


async def _erase(settings: Settings, customer: str, only: list[str]) -> list[str]:
    from agent.checkpoints import open_checkpointer
    from agent.config.tenants import TenantRegistry
    from agent.erasure import erase_customer
    from agent.runtime.factory import open_runtime
    from agent.tenant_helpdesks import TenantHelpdesks

    tenants = TenantRegistry.load(settings.tenants_dir)
    chosen = only or list(tenants.tenants)
    for name in chosen:
        tenants.get(name)  # UnknownTenant names the known ones
    runtime = await open_runtime(settings)
    helpdesks = await TenantHelpdesks.open(tenants, settings.data_dir)
    lines = []
    try:
        async with open_checkpointer(settings, runtime) as checkpointer:
            for name in chosen:
                done = await erase_customer(
                    name,
                    customer,
                    runtime.mailboxes,
                    helpdesks.get(name),
                    checkpointer.adelete_thread,
                    runtime.directory,
                )
                lines.append(
                    _describe(
                        done.tenant, len(done.conversations), done.tickets, done.tickets_elsewhere
                    )
                )
    finally:
        await helpdesks.aclose()
        await runtime.close()
    return lines


def _describe(tenant: str, conversations: int, tickets: int, elsewhere: bool) -> str:
    where = (
        "tickets live in the tenant's helpdesk: erase them there"
        if elsewhere
        else f"{tickets} ticket(s)"
    )
    return f"{tenant}: erased {conversations} conversation(s); {where}"
