"""deskhand doctor."""

import asyncio

import typer
from rich.markup import escape

from agent.cli.common import console, settings_or_exit


def doctor() -> None:
    """Check settings, bot files, helpdesks, stores, knowledge base, embedding and model."""
    from agent.doctor import run_checks

    settings = settings_or_exit()
    checks = asyncio.run(run_checks(settings))
    console.print(f"deskhand doctor · mode: {settings.mode}")
    for check in checks:
        mark = "[green]ok  [/]" if check.ok else "[red]FAIL[/]"
        console.print(f"{mark} {check.name}: {escape(check.detail)}", soft_wrap=True)
    failed = [c for c in checks if not c.ok]
    if failed:
        console.print(f"[red]{len(failed)} problem(s) found[/]")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/]")
