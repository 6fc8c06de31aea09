"""deskhand doctor."""

import asyncio

import typer
from rich.markup import escape

from agent.cli.common import console, settings_or_exit


def doctor() -> None:
    """Check settings, bot files, helpdesks, stores, Redis, knowledge base, embedding and model.

    Redis: version, mode (standalone, cluster, sentinel), latency, pool size; AOF and eviction.

    Warnings do not fail; the exit status is 1 when any check fails.
    """
    from agent.doctor import run_checks

    settings = settings_or_exit()
    checks = asyncio.run(run_checks(settings))
    console.print(f"deskhand doctor · mode: {settings.mode}")
    for check in checks:
        console.print(
            f"{_mark(check.ok, check.warning)} {check.name}: {escape(check.detail)}", soft_wrap=True
        )
    failed = [c for c in checks if not c.ok]
    warned = [c for c in checks if c.ok and c.warning]
    if failed:
        console.print(f"[red]{len(failed)} problem(s) found[/]")
        raise typer.Exit(1)
    note = f" ({len(warned)} warning(s))" if warned else ""
    console.print(f"[green]all checks passed[/]{note}")


def _mark(ok: bool, warning: bool) -> str:
    if not ok:
        return "[red]FAIL[/]"
    return "[yellow]warn[/]" if warning else "[green]ok  [/]"
