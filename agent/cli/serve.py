"""deskhand serve / deskhand worker."""

import asyncio
import os
import shutil
import signal
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any

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
from knowledge.errors import KnowledgeError

if TYPE_CHECKING:
    import socket
    from wsgiref.simple_server import WSGIServer

    from agent.runtime.supervisor import ChildStart, Service

# How a supervised worker process announces that it claims turns (the benchmark reads it).
WORKER_PROCESS_READY = "deskhand worker: process"


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


def worker(
    processes: int = typer.Option(
        1,
        "--processes",
        min=1,
        max=64,
        help="Worker processes, each running up to DESKHAND_WORKER_CONCURRENCY turns. A "
        "supervisor loads the code and the embedding model once, forks them, and replaces "
        "one that dies within a fraction of a second.",
    ),
    supervise: bool = typer.Option(
        True,
        "--supervise/--no-supervise",
        help="--no-supervise: run one worker in this process (no fork; a process manager "
        "restarts it, in seconds).",
    ),
) -> None:
    """Run workers only (production mode: needs DESKHAND_REDIS_URL).

    By default a supervisor process preloads everything and keeps --processes worker
    processes running (it is what receives SIGTERM: the workers finish their turns),
    with a model gateway through which they call the model: a call whose worker died is
    finished and its answer kept for the retried turn (DESKHAND_MODEL_GATEWAY).
    """
    settings = settings_or_exit()
    if settings.redis_url is None:
        fail(
            "the embedded queue lives inside `deskhand serve`; set DESKHAND_REDIS_URL to run "
            "separate worker processes",
            code=2,
        )
    setup_logging(settings)
    from agent.runtime.supervisor import can_fork, run_in_child

    if not supervise or not can_fork():
        if processes > 1:
            fail("--processes needs the supervisor (fork: Linux or macOS)", code=2)
        _preflight(settings)
        with friendly_errors():
            asyncio.run(_run_workers(settings))
        return
    # The checks open a Chroma client, whose threads would not survive the fork of the
    # workers: they run in a process of their own.
    code = run_in_child(partial(_preflight_exiting, settings))
    if code != 0:
        raise typer.Exit(code)
    _supervise(settings, processes)


def _supervise(settings: Settings, processes: int) -> None:
    from agent.runtime.preload import preload
    from agent.runtime.supervisor import Supervisor

    started = time.monotonic()
    try:
        loaded = preload(settings)
    except KnowledgeError as error:
        warn(f"could not load the embedding model: {error} (each worker will try again)")
        loaded = False
    what = "code and embedding model" if loaded else "code"
    console.print(
        f"deskhand worker: supervising {processes} process(es), up to "
        f"{settings.worker_concurrency} turns at once each, on the {settings.mode} runtime "
        f"({what} loaded in {time.monotonic() - started:.1f} s)",
        soft_wrap=True,
    )
    gateway, worker_settings, listening = _model_gateway(settings)
    supervisor = Supervisor(
        processes,
        partial(_child_main, worker_settings, listening),
        stop_grace_s=settings.turn_timeout_s + 5,
        announce=_supervisor_line,
        service=gateway,
    )
    with friendly_errors():
        code = supervisor.run()
    raise typer.Exit(code)


def _supervisor_line(line: str) -> None:
    console.print(f"deskhand worker: {line}", highlight=False, soft_wrap=True)


def _model_gateway(
    settings: Settings,
) -> "tuple[Service | None, Settings, socket.socket | None]":
    """The model-call gateway to run beside the workers (DESKHAND_MODEL_GATEWAY), the
    workers' settings (its URL as their model endpoint) and its listening socket, bound
    here so that its port outlives a gateway process."""
    if not settings.model_gateway or not settings.llm_base_url:
        return None, settings, None
    from agent.llm.gateway import GatewayConfig, bind_gateway_socket, gateway_url, run_gateway
    from agent.runtime.supervisor import Service

    config = GatewayConfig.from_settings(settings)
    try:
        sock = bind_gateway_socket(port=settings.model_gateway_port)
    except OSError as error:
        fail(f"the model gateway cannot listen on 127.0.0.1:{settings.model_gateway_port}: "
             f"{error} (DESKHAND_MODEL_GATEWAY_PORT)", code=2)  # fmt: skip
    service = Service("model gateway", partial(run_gateway, sock, config, _supervisor_line))
    worker_settings = settings.model_copy(
        update={"llm_base_url": gateway_url(sock), "llm_routing_header": config.session_header}
    )
    return service, worker_settings, sock


def _preflight_exiting(settings: Settings) -> None:
    """``_preflight`` for a forked process: its verdict as the exit status."""
    try:
        _preflight(settings)
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None


def _child_main(
    settings: Settings, gateway_socket: "socket.socket | None", start: "ChildStart"
) -> int:
    """One supervised worker process (forked): run the pool until SIGTERM."""
    if gateway_socket is not None:
        gateway_socket.close()  # the gateway's; a worker only connects to it
    try:
        with friendly_errors():
            asyncio.run(_run_workers(settings, start))
    except typer.Exit as done:
        return int(done.exit_code)
    return 0


async def _run_workers(settings: Settings, start: "ChildStart | None" = None) -> None:
    from agent.components import Components
    from agent.runtime.worker import declare_dead

    parts = await Components.open(settings)
    metrics = _serve_metrics(settings, start.slot if start else 0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # Claim at once and load the embedding model beside (a no-op when the supervisor
    # loaded it): a restarted worker takes over dead workers' turns (and resumes them)
    # while it loads; a turn that needs the model waits for it (loaded once, under a lock).
    warming = asyncio.create_task(asyncio.to_thread(parts.retriever.warm_up))
    warming.add_done_callback(_report_warm_up)
    if start is not None and start.predecessor is not None:
        await declare_dead(parts.runtime.mailboxes, start.predecessor)
    console.print(_ready_line(settings, start), highlight=False, soft_wrap=True)
    try:
        await parts.work(stop, start.holder if start else None)
    finally:
        await asyncio.gather(warming, return_exceptions=True)
        await parts.close()
        if metrics is not None:
            metrics.shutdown()
            metrics.server_close()


def _serve_metrics(settings: Settings, slot: int = 0) -> "WSGIServer | None":
    """This worker process's Prometheus /metrics, on DESKHAND_WORKER_METRICS_PORT + its
    slot (each supervised process has its own counters, so its own port; the supervisor
    itself starts no thread, so it serves none). None when the setting is unset."""
    if settings.worker_metrics_port is None:
        return None
    from agent.metrics import serve_metrics

    port = settings.worker_metrics_port + slot
    server = serve_metrics(settings.host, port)
    console.print(f"deskhand worker: metrics at http://{settings.host}:{port}/metrics")
    return server


def _ready_line(settings: Settings, start: "ChildStart | None") -> str:
    if start is None:
        return (
            f"deskhand worker: up to {settings.worker_concurrency} turns at once "
            f"on the {settings.mode} runtime"
        )
    took_over = f", took over from {start.predecessor}" if start.predecessor else ""
    return f"{WORKER_PROCESS_READY} {os.getpid()} (slot {start.slot}) ready{took_over}"


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
