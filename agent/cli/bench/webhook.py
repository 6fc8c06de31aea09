"""``deskhand bench webhook``: how fast signed deliveries are acknowledged, against a baseline.

Real processes: a Redis (a throwaway ``redis-server`` unless ``--redis-url``), deskhand's
API (``deskhand serve --no-workers``: no worker drains the mailboxes during the run) and a
bare FastAPI endpoint that only answers 200, served by uvicorn with the same options. The
load comes from ``wrk`` in another process (Python processes when wrk is missing), each
request a freshly signed delivery of its own: Standard Webhooks (``generic``) and, when
this build's adapter accepts them, Chatwoot deliveries, alternating.

Measured, in this order: the bare endpoint at ``--connections``, the signed path at
``--connections``, the signed path at 8 connections (``p99_ms_at_8``). Afterwards every
delivery answered 200 must be in its mailbox (``lost`` counts those that are not). The
run's keys live under a key prefix of its own, deleted at the end.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.bench.runtime_procs import (
    BenchSetupError,
    Proc,
    Stack,
    base_environment,
    deskhand_command,
    free_port,
    redis_server_command,
    wait_until,
)
from agent.cli.common import errors, fail

if TYPE_CHECKING:
    from agent.cli.bench.webhook_load import LoadResult, RequestSet
    from agent.config.botfile import BotConfig

STARTUP_TIMEOUT_S = 240.0
AT_8 = 8
# Requests signed in advance per second of load (past that, a run reuses its deliveries:
# they are answered as duplicates, still 200 and still checked).
SIGNED_PER_S = 6000
CHATWOOT_SECRET = "bench-chatwoot-bot-secret"  # noqa: S105 - a throwaway tenant's


def webhook(
    seconds: Annotated[
        int, typer.Option("--seconds", min=1, max=60, help="Length of each measured run.")
    ] = 10,
    connections: Annotated[
        int, typer.Option("--connections", min=1, max=1024, help="Connections kept busy.")
    ] = 64,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Use this Redis (own key prefix, deleted after)."),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", file_okay=False, help="Work in this folder and keep it (logs)."),
    ] = None,
) -> None:
    """Acknowledgement speed of signed webhooks vs a bare endpoint; nothing may be lost.

    Prints one JSON line: requests, rps, p50_ms, p99_ms (signed path at --connections),
    bare_rps, bare_p99_ms, ratio (rps / bare_rps), p99_ms_at_8, lost (deliveries answered
    200 missing from their mailboxes), non_200, channels and load (wrk or python).
    """
    try:
        line = _bench(seconds, connections, redis_url, keep)
    except BenchSetupError as error:
        fail(str(error))
    typer.echo(json.dumps(line))


def log(message: str) -> None:
    errors.print(f"[dim]bench webhook:[/] {message}", highlight=False, soft_wrap=True)


def _bench(
    seconds: int, connections: int, redis_url: str | None, keep: Path | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="deskhand-bench-webhook-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with Stack(workdir, base_environment()) as stack:
            return asyncio.run(_drive(stack, seconds, connections, redis_url))


async def _drive(
    stack: Stack, seconds: int, connections: int, redis_url: str | None
) -> dict[str, Any]:
    from redis.asyncio import Redis

    from agent.cli.bench import webhook_load as load

    url = redis_url or await _start_redis(stack)
    prefix = f"deskhand-bench-webhook-{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=30)
    try:
        bot, secrets = _write_tenants(stack.workdir)
        if not load.chatwoot_ready(bot, CHATWOOT_SECRET):
            log("the chatwoot adapter does not accept deliveries yet: generic only")
            del secrets["chatwoot"]
        threads = load.load_threads(connections)
        log(f"signing requests ({', '.join(secrets)}; {threads} load thread(s))")
        folder = stack.workdir / "requests"
        folder.mkdir(exist_ok=True)
        main = load.build_requests(folder, "main", SIGNED_PER_S * seconds, threads, bot, secrets)
        at_8 = load.build_requests(
            folder, "at8", SIGNED_PER_S * seconds // 2, load.load_threads(AT_8), bot, secrets
        )
        warm = load.build_requests(folder, "warm", 2000, threads, bot, secrets)
        env = stack.env | {
            "DESKHAND_REDIS_URL": url,
            "DESKHAND_REDIS_PREFIX": prefix,
            "DESKHAND_TENANTS_DIR": str(stack.workdir / "tenants"),
            "DESKHAND_DATA_DIR": str(stack.workdir / "data"),
            "DESKHAND_LOG_JSON": "true",
            "DESKHAND_LOG_LEVEL": "WARNING",
        }
        runs = _Runs(stack, seconds, connections)
        api = await runs.start("api", deskhand_command("serve", "--no-workers"), env)
        bare = await runs.start("bare", _bare_command(), env)
        await runs.load(bare, warm, 1, "warming up the bare endpoint")
        bare_run = await runs.load(bare, main, seconds, f"bare endpoint, {connections} conn.")
        await runs.load(api, warm, 1, "warming up deskhand")
        signed = await runs.load(api, main, seconds, f"signed deliveries, {connections} conn.")
        signed_8 = await runs.load(api, at_8, seconds, f"signed deliveries, {AT_8} conn.", AT_8)
        expected = {**warm.expected, **main.expected, **at_8.expected}
        acked = {*signed.acked, *signed_8.acked}
        unknown = [d for d in acked if d not in expected]
        lost = await load.missing(redis, prefix, expected, acked - set(unknown)) + len(unknown)
        if lost:
            log(f"{lost} acknowledged deliveries are not in their mailboxes")
        return _line(signed, bare_run, signed_8, lost, list(secrets), runs.kind)
    finally:
        await _delete_keys(redis, prefix)  # before a throwaway Redis stops
        await redis.aclose()
        stack.stop_all()


class _Runs:
    def __init__(self, stack: Stack, seconds: int, connections: int) -> None:
        from agent.cli.bench.webhook_load import wrk_binary

        self.stack = stack
        self.workdir = stack.workdir
        self.servers: dict[str, Proc] = {}
        self.connections = connections
        self.kind = "wrk" if wrk_binary() else "python"

    async def start(self, name: str, command: list[str], env: dict[str, str]) -> str:
        url, proc = await _start_server(self.stack, name, command, env)
        self.servers[url] = proc
        return url

    async def load(
        self,
        base_url: str,
        requests: RequestSet,
        seconds: float,
        what: str,
        connections: int | None = None,
    ) -> LoadResult:
        from agent.cli.bench.webhook_load import run_load

        conns = connections or self.connections
        server = self.servers[base_url]
        cpu_before = server.cpu_ms()
        result = await asyncio.to_thread(run_load, base_url, requests, seconds, conns, self.workdir)
        cpu_after = server.cpu_ms()
        if cpu_before is not None and cpu_after is not None and result.requests:
            result.cpu_us = (cpu_after - cpu_before) * 1000 / result.requests
        cpu = f", {result.cpu_us:.0f} us CPU each" if result.cpu_us is not None else ""
        log(
            f"{what}: {result.requests} requests, {result.rps:.0f}/s, p50 {result.p50_ms:.1f} ms,"
            f" p99 {result.p99_ms:.1f} ms{cpu}, statuses {result.statuses}, errors {result.errors}"
        )
        return result


def _line(
    signed: LoadResult,
    bare: LoadResult,
    at_8: LoadResult,
    lost: int,
    channels: list[str],
    kind: str,
) -> dict[str, Any]:
    def non_200(result: LoadResult) -> int:
        return sum(n for code, n in result.statuses.items() if code != 200) + result.errors

    return {
        "requests": signed.requests,
        "rps": round(signed.rps, 1),
        "p50_ms": round(signed.p50_ms, 2),
        "p99_ms": round(signed.p99_ms, 2),
        "bare_rps": round(bare.rps, 1),
        "bare_p99_ms": round(bare.p99_ms, 2),
        "ratio": round(signed.rps / bare.rps, 3) if bare.rps else None,
        "p99_ms_at_8": round(at_8.p99_ms, 2),
        "rps_at_8": round(at_8.rps, 1),
        "cpu_us_per_request": _rounded(signed.cpu_us),
        "bare_cpu_us_per_request": _rounded(bare.cpu_us),
        "lost": lost,
        "acknowledged": len(signed.acked) + len(at_8.acked),
        "non_200": non_200(signed) + non_200(at_8),
        "channels": channels,
        "load": kind,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- set-up --------------------------------------------------------------------------------


async def _start_redis(stack: Stack) -> str:
    port = free_port()
    (stack.workdir / "redis").mkdir(exist_ok=True)
    proc = stack.spawn("redis", redis_server_command(port, stack.workdir / "redis"))
    url = f"redis://127.0.0.1:{port}/0"
    await wait_until(lambda: _pings(url), proc, 20, "redis-server answered PING")
    log(f"throwaway redis-server on port {port}")
    return url


def _write_tenants(workdir: Path) -> tuple[BotConfig, dict[str, str]]:
    """The demo bot file with a Chatwoot helpdesk and channel; the channels' secrets."""
    import yaml

    from agent.config.tenants import TenantRegistry
    from agent.demo import DEMO_TENANTS_DIR

    data: dict[str, Any] = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    data["tools_file"] = str((DEMO_TENANTS_DIR / data["tools_file"]).resolve())
    data["helpdesk"] = {
        "platform": "chatwoot",
        "base_url": "http://127.0.0.1:9/chatwoot",  # never called on the webhook path
        "account_id": 1,
        "access_token": "bench-chatwoot-token",
    }
    data["channels"]["chatwoot"] = {"secrets": [CHATWOOT_SECRET]}
    tenants = workdir / "tenants"
    tenants.mkdir(exist_ok=True)
    (tenants / "demo.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    bot = TenantRegistry.load(tenants).get("demo")
    generic = str(data["channels"]["generic"]["signing_secrets"][0])
    return bot, {"generic": generic, "chatwoot": CHATWOOT_SECRET}


def _bare_command() -> list[str]:
    import sys

    return [sys.executable, "-m", "agent.cli.bench.webhook_bare"]


async def _start_server(
    stack: Stack, name: str, command: list[str], env: dict[str, str]
) -> tuple[str, Proc]:
    port = free_port()
    proc = stack.spawn(name, command, env | {"DESKHAND_PORT": str(port)})
    url = f"http://127.0.0.1:{port}"
    probe = "/readyz" if name == "api" else "/docs"
    waited = await wait_until(
        lambda: _answers(url + probe), proc, STARTUP_TIMEOUT_S, f"{name} answered"
    )
    log(f"{name} ready at {url} in {waited:.1f} s")
    return url, proc


async def _pings(url: str) -> bool:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _answers(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _delete_keys(redis: Any, prefix: str) -> None:
    from redis.exceptions import RedisError

    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    except (RedisError, OSError) as error:
        log(f"could not delete the keys under {prefix}: {error}")
