"""deskhand serve / deskhand worker."""

import asyncio
import shutil
import signal
import sys
from typing import Any

import typer

from agent.cli.common import (
    console,
    fail,
    friendly_errors,
    local_url,
    settings_or_exit,
    setup_logging,
    warn,
)
from agent.config.settings import Settings


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default: DESKHAND_HOST)."),
    port: int | None = typer.Option(None, help="Port to bind (default: DESKHAND_PORT)."),
    workers: bool = typer.Option(
        True,
        "--workers/--no-workers",
        help="Run workers in this process too. --no-workers needs DESKHAND_REDIS_URL "
        "and separate `deskhand worker` processes.",
    ),
) -> None:
    """Serve the webhook and conversations API, with workers in the same process."""
    settings = settings_or_exit()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)
    if not workers and settings.redis_url is None:
        fail("--no-workers needs DESKHAND_REDIS_URL: the embedded queue has no other reader", 2)
    setup_logging(settings)
    _preflight(settings)
    _announce(settings)
    import uvicorn

    from agent.api.app import create_app

    uvicorn.run(create_app(settings, run_workers_in_process=workers), **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``deskhand serve`` runs uvicorn (``deskhand bench webhook`` serves its baseline
    endpoint the same way): one worker, its default event loop and HTTP parser."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.turn_timeout_s),
    }


def worker() -> None:
    """Run workers only (production mode: needs DESKHAND_REDIS_URL)."""
    settings = settings_or_exit()
    if settings.redis_url is None:
        fail(
            "the embedded queue lives inside `deskhand serve`; set DESKHAND_REDIS_URL to run "
            "separate worker processes",
            code=2,
        )
    setup_logging(settings)
    _preflight(settings)
    with friendly_errors():
        asyncio.run(_run_workers(settings))


async def _run_workers(settings: Settings) -> None:
    from agent.components import Components

    parts = await Components.open(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Claim at once and load the embedding model beside: a restarted worker takes over
    # dead workers' turns (and resumes them) while it loads; a turn that needs the model
    # waits for it (the load happens once, under a lock).
    warming = asyncio.create_task(asyncio.to_thread(parts.retriever.warm_up))
    warming.add_done_callback(_report_warm_up)
    console.print(
        f"deskhand worker: up to {settings.worker_concurrency} turns at once "
        f"on the {settings.mode} runtime"
    )
    try:
        await parts.work(stop)
    finally:
        await asyncio.gather(warming, return_exceptions=True)
        await parts.close()


def _report_warm_up(task: "asyncio.Task[None]") -> None:
    if not task.cancelled() and task.exception() is not None:
        warn(f"could not load the embedding model: {task.exception()} (turns will try again)")


def _preflight(settings: Settings) -> None:
    """Stop now, with the reason, if a required dependency is missing or misconfigured."""
    from agent.doctor import run_checks

    checks = asyncio.run(run_checks(settings, include_model=settings.llm_base_url is not None))
    problems = [c for c in checks if c.required and not c.ok]
    if problems:
        fail("\n".join(f"{c.name}: {c.detail}" for c in problems), code=2)
    for check in checks:
        if not check.ok:
            warn(f"{check.name}: {check.detail} (serving anyway: answers take the degraded path)")


def _announce(settings: Settings) -> None:
    model = settings.llm_base_url or "none (degraded mode: knowledge-base quotes or hand-off)"
    console.print(f"[bold green]deskhand[/] serving on [bold]{local_url(settings)}[/]")
    console.print(f"  mode: {settings.mode} · data: {settings.data_dir}", soft_wrap=True)
    console.print(f"  model: {model}", soft_wrap=True)
    console.print(
        f'  try:  {_executable()} say --tenant demo "How long does a refund take?"',
        highlight=False,
        soft_wrap=True,
    )


def _executable() -> str:
    """How the user can call deskhand again: plain ``deskhand`` when it is on PATH."""
    argv0 = sys.argv[0]
    found = shutil.which("deskhand")
    if found and shutil.which(argv0) == found:
        return "deskhand"
    return argv0 if "/" in argv0 else "deskhand"
