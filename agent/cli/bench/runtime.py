"""``deskhand bench runtime``: the Redis runtime end to end, under load, with worker kills.

Real processes, as in production: a Redis (a throwaway ``redis-server`` unless
``--redis-url``), the scripted model server (each call taking ``--llm-latency-ms``), one
API process (``deskhand serve --no-workers``, with the demo shop) and a worker supervisor
(``deskhand worker --processes``) with ``--workers`` worker processes running up to
``--concurrency`` turns each, and its model gateway (never killed). The demo tenant's full graph
answers: one ``lookup_order`` tool call and one reply per turn, two model calls. Its
help center is ingested into a temporary data folder first, and its replies come back to
a callback receiver run by the bench.

Simulated customers post through the real webhook endpoint: half wait for each answer
before writing again, half write in bursts (coalescing and ordering are exercised). With
``--kill-every-s`` a worker process is SIGKILLed at that interval (round robin) and its
supervisor forks a replacement; ``restart_s`` is the mean time from the SIGKILL to the
replacement's ready line. Before the clock starts, one warm-up turn per worker slot
makes sure every worker process answers.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.bench.runtime_procs import (
    BenchSetupError,
    Restart,
    Stack,
    base_environment,
    deskhand_command,
    free_port,
    log,
    redis_server_command,
    wait_exit,
    wait_until,
)
from agent.cli.common import fail

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

    from agent.cli.bench.runtime_report import Tally
    from agent.cli.bench.runtime_traffic import Ledger

MODEL_CALLS_PER_TURN = 2  # the demo responder: a lookup_order call, then the reply
STARTUP_TIMEOUT_S = 240.0
INGEST_TIMEOUT_S = 600.0
WARM_UP_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 60.0
SEED = 20250611


@dataclass(frozen=True)
class Options:
    conversations: int
    messages: int
    llm_latency_s: float
    workers: int
    concurrency: int
    kill_every_s: float | None
    lease_s: float
    coalesce_window_s: float
    redis_url: str | None
    lost_after_s: float
    max_posts: int
    seed: int
    keep: Path | None

    @property
    def ideal_turns_per_s(self) -> float:
        return self.workers * self.concurrency / (MODEL_CALLS_PER_TURN * self.llm_latency_s)


@dataclass
class Endpoints:
    api: str
    redis_url: str
    redis_prefix: str
    secret: str
    token: str


def runtime(
    conversations: Annotated[
        int, typer.Option("--conversations", min=1, help="Simulated conversations.")
    ] = 200,
    messages: Annotated[
        int, typer.Option("--messages", min=1, help="Customer messages per conversation.")
    ] = 5,
    llm_latency_ms: Annotated[
        int, typer.Option("--llm-latency-ms", min=1, help="Latency of each model call.")
    ] = 2000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 2,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=256, help="Turns at once per worker.")
    ] = 16,
    kill_every_s: Annotated[
        float | None,
        typer.Option("--kill-every-s", min=0.1, help="SIGKILL a worker this often, restart it."),
    ] = None,
    lease_s: Annotated[
        float,
        typer.Option(
            "--lease-s", min=1.0, help="Lease of a claimed conversation (DESKHAND_LEASE_S)."
        ),
    ] = 5.0,
    coalesce_window_ms: Annotated[
        int, typer.Option("--coalesce-window-ms", min=0, help="DESKHAND_COALESCE_WINDOW_S, in ms.")
    ] = 500,
    redis_url: Annotated[
        str | None,
        typer.Option("--redis-url", help="Use this Redis (own key prefix, deleted after)."),
    ] = None,
    lost_after_s: Annotated[
        float,
        typer.Option("--lost-after-s", min=1.0, help="A message unanswered this long is lost."),
    ] = 30.0,
    max_posts: Annotated[
        int, typer.Option("--max-posts", min=1, help="Webhook POSTs in flight at most.")
    ] = 32,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the kill schedule.")] = SEED,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", file_okay=False, help="Work in this folder and keep it (logs)."),
    ] = None,
) -> None:
    """Load the Redis runtime end to end: real API and worker processes, real webhooks.

    Prints one JSON line: messages, replies, lost, duplicates, order_violations, coalesced,
    turns_per_s, ideal_turns_per_s (workers * concurrency / (2 model calls * latency)),
    efficiency, cpu_ms_per_turn (API and workers), and kills, redeliveries, p50/p99 reply
    seconds and more.
    """
    options = Options(
        conversations, messages, llm_latency_ms / 1000, workers, concurrency, kill_every_s,
        lease_s, coalesce_window_ms / 1000, redis_url, lost_after_s, max_posts, seed, keep,
    )  # fmt: skip
    try:
        line = _bench(options)
    except BenchSetupError as error:
        fail(str(error))
    typer.echo(json.dumps(line))


def _bench(options: Options) -> dict[str, Any]:
    import httpx
    from redis.exceptions import RedisError

    with tempfile.TemporaryDirectory(prefix="deskhand-bench-runtime-") as tmp:
        workdir = options.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with Stack(workdir, base_environment()) as stack:
            try:
                return asyncio.run(_drive(stack, options))
            except (httpx.HTTPError, RedisError, OSError) as error:
                raise BenchSetupError(f"{type(error).__name__}: {error}") from error


async def _drive(stack: Stack, options: Options) -> dict[str, Any]:
    from agent.background_server import BackgroundServer
    from agent.cli.bench.runtime_traffic import Ledger, receiver_app

    async with AsyncExitStack() as exits:
        redis_url, prefix = await _start_redis(stack, options)
        redis = await exits.enter_async_context(_redis_client(redis_url))
        if options.redis_url is not None:
            exits.push_async_callback(_delete_keys, redis, prefix)
        ledger = Ledger()
        bot = _demo_bot()
        secret = str(bot["channels"]["generic"]["signing_secrets"][0])
        app = receiver_app(ledger, asyncio.get_running_loop(), [secret])
        receiver = exits.enter_context(BackgroundServer(app, name="callback-receiver"))
        model_url = await _start_model_and_knowledge(stack, options)
        tenants = _write_tenants(stack.workdir, bot, f"{receiver.base_url}/events")
        exits.callback(stack.stop_all)  # before the keys are deleted and the receiver stops
        api = await _start_api(stack, options, redis_url, prefix, model_url, tenants)
        await _start_workers(stack, options)
        endpoints = Endpoints(api, redis_url, prefix, secret, str(bot["api_tokens"][0]))
        http = await exits.enter_async_context(_http_client(api, options.max_posts))
        await _warm_up(http, ledger, endpoints, options)
        return await _measure(stack, http, redis, ledger, endpoints, options)
    raise AssertionError("unreachable: AsyncExitStack does not swallow errors")


# --- start-up --------------------------------------------------------------------------


async def _start_redis(stack: Stack, options: Options) -> tuple[str, str]:
    """The Redis URL and key prefix to use: our own server, or a prefix of our own."""
    if options.redis_url is not None:
        prefix = f"deskhand-bench-{uuid.uuid4().hex[:10]}:"
        log(f"using Redis at {options.redis_url} under the key prefix {prefix}")
        return options.redis_url, prefix
    port = free_port()
    (stack.workdir / "redis").mkdir(exist_ok=True)
    proc = stack.spawn("redis", redis_server_command(port, stack.workdir / "redis"))
    url = f"redis://127.0.0.1:{port}/0"
    async with _redis_client(url) as client:
        await wait_until(lambda: _pings(client), proc, 20, "redis-server answered PING")
    log(f"throwaway redis-server on port {port}")
    return url, "deskhand:"


async def _start_model_and_knowledge(stack: Stack, options: Options) -> str:
    """Start the scripted model server and ingest the demo help center, side by side."""
    from agent.demo import DEMO_KB_DIR

    port = free_port()
    latency = f"{options.llm_latency_s:g}"
    stub = stack.spawn(
        "llm-stub", deskhand_command("llm-stub", "--port", str(port), "--latency", latency)
    )
    env = {**stack.env, "DESKHAND_DATA_DIR": str(stack.workdir / "data")}
    log("ingesting the demo help center into a temporary knowledge base (once per run)")
    started = time.monotonic()
    ingest = stack.spawn(
        "ingest", deskhand_command("ingest", str(DEMO_KB_DIR), "--tenant", "demo"), env
    )
    url = f"http://127.0.0.1:{port}"
    await wait_until(lambda: _answers(f"{url}/v1/models"), stub, 60, "the model stub answered")
    if await wait_exit(ingest, INGEST_TIMEOUT_S) != 0:
        raise BenchSetupError(f"deskhand ingest failed:\n{ingest.tail()}")
    log(f"knowledge ingested in {time.monotonic() - started:.1f} s; model stub at {url}")
    return url


def _demo_bot() -> dict[str, Any]:
    import yaml

    from agent.demo import DEMO_TENANTS_DIR

    data: dict[str, Any] = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    return data


def _write_tenants(workdir: Path, bot: dict[str, Any], callback_url: str) -> Path:
    """The demo bot file, its replies sent to our receiver and its tools file found."""
    import yaml

    from agent.demo import DEMO_TENANTS_DIR

    tenants = workdir / "tenants"
    tenants.mkdir(exist_ok=True)
    data = json.loads(json.dumps(bot))  # a deep copy
    data["tools_file"] = str((DEMO_TENANTS_DIR / data["tools_file"]).resolve())
    data["channels"]["generic"]["callback_url"] = callback_url
    (tenants / "demo.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return tenants


async def _start_api(
    stack: Stack, options: Options, redis_url: str, prefix: str, model_url: str, tenants: Path
) -> str:
    port = free_port()
    stack.env |= {
        "DESKHAND_REDIS_URL": redis_url,
        "DESKHAND_REDIS_PREFIX": prefix,
        "DESKHAND_DEMO_SHOP": "true",
        "DESKHAND_PORT": str(port),
        "DESKHAND_LLM_BASE_URL": model_url,
        "DESKHAND_TENANTS_DIR": str(tenants),
        "DESKHAND_DATA_DIR": str(stack.workdir / "data"),
        "DESKHAND_LOG_JSON": "true",
        "DESKHAND_LOG_LEVEL": "WARNING",
        "DESKHAND_WORKER_CONCURRENCY": str(options.concurrency),
        "DESKHAND_LEASE_S": f"{options.lease_s:g}",
        "DESKHAND_COALESCE_WINDOW_S": f"{options.coalesce_window_s:g}",
    }
    stack.api = stack.spawn("api", deskhand_command("serve", "--no-workers"))
    url = f"http://127.0.0.1:{port}"
    waited = await wait_until(
        lambda: _answers(f"{url}/readyz"), stack.api, STARTUP_TIMEOUT_S, "the API was ready"
    )
    log(f"API ready at {url} in {waited:.1f} s")
    return url


async def _start_workers(stack: Stack, options: Options) -> None:
    """``deskhand worker --processes N``; wait for every worker process's ready line."""
    supervisor = stack.spawn_workers(options.workers)
    started = time.monotonic()

    async def all_ready() -> bool:
        return len(stack.workers.ready()) == options.workers

    await wait_until(all_ready, supervisor, STARTUP_TIMEOUT_S, "its workers were ready")
    log(f"{options.workers} worker process(es) ready in {time.monotonic() - started:.1f} s")


async def _warm_up(
    http: httpx.AsyncClient, ledger: Ledger, endpoints: Endpoints, options: Options
) -> None:
    """One single-message conversation per worker slot, so that every worker has loaded
    its embedding model (workers load it on their first turn) before the clock starts."""
    from agent.cli.bench.runtime_traffic import Customers, plans

    count = options.workers * options.concurrency
    log(f"warming up: {count} single-message conversations (not counted)")
    started = time.monotonic()
    customers = Customers(http, ledger, endpoints.secret, WARM_UP_TIMEOUT_S, options.max_posts)
    await customers.run(plans(count, 1, "warm-"))
    unanswered = [m for m in ledger.sent if m not in ledger.answered_at]
    if unanswered:
        raise BenchSetupError(f"warm-up: {len(unanswered)} of {count} messages got no answer")
    ledger.sent.clear()
    ledger.order.clear()
    log(f"warmed up in {time.monotonic() - started:.1f} s")


# --- the measured run --------------------------------------------------------------------


async def _measure(
    stack: Stack,
    http: httpx.AsyncClient,
    redis: Redis,
    ledger: Ledger,
    endpoints: Endpoints,
    options: Options,
) -> dict[str, Any]:
    from agent.cli.bench.runtime_report import order_violations, tally
    from agent.cli.bench.runtime_traffic import Customers, plans

    conversations = plans(options.conversations, options.messages, "c-")
    total = options.conversations * options.messages
    log(f"clock starts: {len(conversations)} conversations, {total} messages; {_load()}")
    customers = Customers(http, ledger, endpoints.secret, options.lost_after_s, options.max_posts)
    stack.cpu.start(stack)
    stop_kills = asyncio.Event()
    killer = asyncio.create_task(_kill_loop(stack, options, stop_kills))
    progress = asyncio.create_task(_progress(ledger, total))
    try:
        await customers.run(conversations)
    finally:
        stop_kills.set()
        progress.cancel()
        await asyncio.gather(killer, progress, return_exceptions=True)
    await _drain(redis, endpoints.redis_prefix)
    log(f"all answered or given up on; {_load()}")
    await _diagnose(redis, endpoints.redis_prefix, ledger)
    stack.cpu.finish(stack)
    problems = await order_violations(http, endpoints.token, ledger)
    for problem in problems[:5]:
        log(f"order violation: {problem}")
    _report_logs(stack)
    if options.keep is not None:
        _dump_ledger(ledger, options.keep / "ledger.json")
    return _line(tally(ledger, options.lost_after_s), len(problems), stack, ledger, options)


async def _kill_loop(stack: Stack, options: Options, stop: asyncio.Event) -> None:
    """Every ``--kill-every-s``, SIGKILL the next worker process (round robin); its
    supervisor forks a replacement."""
    if options.kill_every_s is None:
        return
    slot = random.Random(options.seed).randrange(options.workers)
    watchers: list[asyncio.Task[None]] = []
    while True:
        try:
            await asyncio.wait_for(stop.wait(), options.kill_every_s)
            break
        except TimeoutError:
            pass
        restart = stack.kill_worker(slot)
        if restart is None:
            log(f"worker slot {slot}: its replacement is not ready yet; not killed this time")
        else:
            watchers.append(asyncio.create_task(_watch_restart(stack, restart)))
        slot = (slot + 1) % options.workers
    await asyncio.gather(*watchers, return_exceptions=True)


async def _watch_restart(stack: Stack, restart: Restart, poll_s: float = 0.01) -> None:
    """Time from the SIGKILL to the ready line of the slot's next worker process."""
    deadline = restart.killed_at + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        pid = stack.workers.ready().get(restart.slot)
        if pid is not None and pid != restart.killed_pid and pid not in stack.workers.killed:
            restart.up_s = time.monotonic() - restart.killed_at
            log(f"worker process {restart.killed_pid} killed; {pid} up {restart.up_s:.2f} s later")
            return
        await asyncio.sleep(poll_s)


async def _progress(ledger: Ledger, total: int, every_s: float = 10.0) -> None:
    started = time.monotonic()
    while True:
        await asyncio.sleep(every_s)
        answered = sum(1 for m in ledger.sent if m in ledger.answered_at)
        log(
            f"{time.monotonic() - started:.0f} s: {len(ledger.sent)}/{total} sent, "
            f"{answered} answered"
        )


async def _drain(redis: Redis, prefix: str) -> None:
    """Wait until no conversation is pending or held (late re-runs would show here)."""
    ready = f"{prefix}{{queue}}:ready"
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if await redis.zcard(ready) == 0:
            await asyncio.sleep(1.0)  # callbacks of the last commits are on their way
            return
        await asyncio.sleep(0.2)
    log(f"the queue did not drain within {DRAIN_TIMEOUT_S:g} s")


async def _diagnose(redis: Redis, prefix: str, ledger: Ledger, most: int = 5) -> None:
    """Say where Redis holds the conversations with unanswered messages (evidence)."""
    stuck = sorted({s.conversation for m, s in ledger.sent.items() if m not in ledger.answered_at})
    if stuck:
        log(f"{len(stuck)} conversation(s) hold unanswered messages: {', '.join(stuck[:20])}")
    members = await redis.zrange(f"{prefix}{{queue}}:ready", 0, -1)
    queued = [_text(key) for key in members if isinstance(key, bytes | str)]
    if queued:
        log(f"{len(queued)} conversation(s) still scheduled or locked: {', '.join(queued[:20])}")
    now_ms = int(time.time() * 1000)
    for key in [*stuck[:most], *(k for k in queued[:most] if k not in stuck[:most])]:
        part = f"{prefix}conv:{{{key}}}:"
        ready = await redis.zscore(f"{prefix}{{queue}}:ready", key)
        waiting = await redis.zscore(f"{prefix}{{queue}}:waiting", key)
        due = "absent" if ready is None else f"due in {(ready - now_ms) / 1000:+.1f} s"
        log(
            f"{key}: ready {due}; waiting {'absent' if waiting is None else 'listed'}; "
            f"lock {await redis.get(part + 'lock')!r} (pttl {await redis.pttl(part + 'lock')} ms);"
            f" mailbox {await redis.llen(part + 'mailbox')}; "
            f"undelivered {await redis.llen(part + 'pending')}; "
            f"attempts {await redis.get(part + 'attempts')!r}; "
            f"state {await redis.get(part + 'state')!r}"
        )


def _line(
    result: Tally, violations: int, stack: Stack, ledger: Ledger, options: Options
) -> dict[str, Any]:
    from agent.cli.bench.runtime_report import percentile

    turns_per_s = result.replies / result.elapsed_s
    cpu = stack.cpu.total_ms / result.replies if result.replies and stack.cpu.readable else None
    restarts = [r.up_s for r in stack.restarts if r.up_s is not None]
    return {
        "messages": result.messages,
        "replies": result.replies,
        "lost": result.lost,
        "duplicates": result.duplicates,
        "order_violations": violations,
        "coalesced": result.coalesced,
        "turns_per_s": round(turns_per_s, 3),
        "ideal_turns_per_s": round(options.ideal_turns_per_s, 3),
        "efficiency": round(turns_per_s / options.ideal_turns_per_s, 3),
        "cpu_ms_per_turn": round(cpu, 1) if cpu is not None else None,
        "kills": len(stack.restarts),
        "redeliveries": result.redeliveries,
        "unanswered": result.unanswered,
        "handoffs": result.handoffs,
        "holding_replies": result.holding,
        "post_failures": ledger.post_failures,
        "bad_signatures": ledger.bad_signatures,
        "elapsed_s": round(result.elapsed_s, 2),
        "p50_reply_s": percentile(result.latencies, 50),
        "p99_reply_s": percentile(result.latencies, 99),
        "restart_s": round(sum(restarts) / len(restarts), 2) if restarts else None,
        "restart_max_s": round(max(restarts), 2) if restarts else None,
        "workers": options.workers,
        "concurrency": options.concurrency,
        "llm_latency_ms": round(options.llm_latency_s * 1000),
    }


def _report_logs(stack: Stack) -> None:
    """Count the warnings and errors the API and workers logged (JSON lines)."""
    counts: dict[str, int] = {}
    for proc in stack.procs:
        if not proc.name.startswith(("api", "worker")):
            continue
        for raw in proc.log_text().splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("level") in ("warning", "error"):
                message = str(record.get("msg"))[:160]
                key = f"{proc.name.split('-')[0]} {record['level']}: {message}"
                counts[key] = counts.get(key, 0) + 1
    for key, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        log(f"logged {count} × {key}")


def _dump_ledger(ledger: Ledger, path: Path) -> None:
    """What was sent and heard, in seconds from the first send (``--keep`` only)."""
    zero = min((s.at for s in ledger.sent.values()), default=0.0)
    sent = {
        m: {"conversation": s.conversation, "at": s.at - zero, "accepted": s.accepted,
            "answered": ledger.answered_at[m] - zero if m in ledger.answered_at else None}
        for m, s in ledger.sent.items()
    }  # fmt: skip
    heard = [
        {"webhook_id": c.webhook_id, "type": c.kind, "reply": c.reply_id,
         "answers": list(c.answers), "conversation": c.conversation, "at": c.at - zero}
        for c in ledger.callbacks
    ]  # fmt: skip
    path.write_text(json.dumps({"sent": sent, "callbacks": heard}, indent=1))
    log(f"sent and heard messages written to {path}")


# --- small helpers ---------------------------------------------------------------------


def _load() -> str:
    """The machine's load (other programs' CPU use weighs on the measure)."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def _redis_client(url: str) -> Redis:
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


def _http_client(base_url: str, max_posts: int) -> httpx.AsyncClient:
    import httpx

    limits = httpx.Limits(max_connections=max_posts + 16, max_keepalive_connections=max_posts)
    return httpx.AsyncClient(base_url=base_url, timeout=10.0, limits=limits)


async def _pings(client: Redis) -> bool:
    from redis.exceptions import RedisError

    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


async def _answers(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            return (await http.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


async def _delete_keys(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
    for start in range(0, len(keys), 500):
        await redis.delete(*keys[start : start + 500])
    log(f"deleted {len(keys)} keys under {prefix}")
