"""Signed deliveries for ``deskhand bench webhook``, the load generator, and the loss check.

Requests are signed in advance (wrk's Lua has no HMAC): each one has its own delivery id,
conversation message and fresh signature, and what the server must store for it is worked
out by the channel's own adapter at the same time. The load comes from ``wrk`` (another
process; its Lua script cycles through a file of requests per thread and notes the
delivery id of every 200), or, without wrk, from Python processes that do the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.signing import standard_webhooks

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from agent.config.botfile import BotConfig

TENANT = "demo"
CONVERSATIONS = 1000  # conversations the deliveries of a run are spread over
DELIVERY_ID = re.compile(rb'"delivery_id":"([^"]*)"')


@dataclass(frozen=True)
class Expected:
    """What a delivery must leave in the mailboxes once it was answered 200."""

    messages: tuple[tuple[str, str], ...]  # (conversation key, message id)


@dataclass
class RequestSet:
    """Pre-signed requests, one file per load thread, and what each delivery must store."""

    files: list[Path]
    expected: dict[str, Expected] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.expected)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]  # status code -> responses
    errors: int  # connection errors and timeouts
    acked: list[str]  # delivery ids answered 200
    cpu_us: float | None = None  # the server's CPU time per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


# --- requests ----------------------------------------------------------------------------


def generic_request(secret: str, run: str, n: int, now: int) -> tuple[str, bytes, dict[str, str]]:
    conversation = f"{run}-{n % CONVERSATIONS}"
    body = json.dumps(
        {
            "type": "message.created",
            "conversation": {"id": conversation},
            "message": {"id": f"{run}-m{n}", "text": f"Where is my order BL-{10000 + n}?"},
            "customer": {"id": f"cust-{n % 500}", "email": f"c{n % 500}@example.com"},
        },
        separators=(",", ":"),
    ).encode()
    headers = standard_webhooks.signed_headers(secret, body, f"{run}-d{n}", now).as_dict()
    return f"/webhooks/{TENANT}/generic", body, headers


def chatwoot_request(secret: str, run: str, n: int, now: int) -> tuple[str, bytes, dict[str, str]]:
    """A ``message_created`` from a contact in a conversation the bot owns (``pending``)."""
    conversation = 100_000 + n % CONVERSATIONS
    contact = 1000 + n % 500
    sender = {"id": contact, "name": f"Contact {contact}", "type": "contact"}
    body = json.dumps(
        {
            "event": "message_created",
            "id": 10_000_000 + n,
            "content": f"Where is my order BL-{10000 + n}?",
            "created_at": "2026-01-01T10:00:00.000Z",
            "message_type": "incoming",
            "content_type": "text",
            "private": False,
            "content_attributes": {},
            "source_id": None,
            "sender": sender,
            "inbox": {"id": 1, "name": "Bench"},
            "conversation": {
                "id": conversation,
                "inbox_id": 1,
                "channel": "Channel::Api",
                "status": "pending",
                "can_reply": True,
                "meta": {"sender": {**sender, "email": None}, "assignee": None},
                "timestamp": now,
            },
            "account": {"id": 1, "name": "Bench"},
        },
        separators=(",", ":"),
    ).encode()
    digest = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Chatwoot-Delivery": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run}-{n}")),
        "X-Chatwoot-Timestamp": str(now),
        "X-Chatwoot-Signature": f"sha256={digest}",
    }
    return f"/webhooks/{TENANT}/chatwoot", body, headers


def expected_of(
    bot: BotConfig, channel: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[str, Expected]:
    """The delivery id and messages the server will work out (its own adapter's verdict)."""
    from agent.channels import CHANNELS
    from agent.channels.accept import accepted

    lowered = {key.lower(): value for key, value in headers.items()}
    delivery = CHANNELS[channel].accept(bot, _Headers(lowered), body, 300, {})
    batch = accepted(TENANT, channel, delivery)
    messages = tuple((m.conversation_key, m.message_id) for m in batch.messages)
    return delivery.delivery_id, Expected(messages)


class _Headers(dict[str, str]):
    """Case-insensitive lookups, as Starlette's headers allow."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)


def chatwoot_ready(bot: BotConfig, secret: str) -> bool:
    """Whether this build's chatwoot adapter accepts a signed delivery and queues it."""
    from agent.channels.base import ChannelError

    path, body, headers = chatwoot_request(secret, "probe", 0, int(time.time()))
    try:
        _, expected = expected_of(bot, "chatwoot", path, body, headers)
    except ChannelError:
        return False
    return len(expected.messages) == 1


def build_requests(
    folder: Path,
    name: str,
    count: int,
    threads: int,
    bot: BotConfig,
    secrets: dict[str, str],
) -> RequestSet:
    """``count`` signed requests, alternating between the channels in ``secrets``."""
    run = f"{name}-{uuid.uuid4().hex[:8]}"
    now = int(time.time())
    builders = {"generic": generic_request, "chatwoot": chatwoot_request}
    channels = [c for c in ("generic", "chatwoot") if c in secrets]
    files = [folder / f"{name}.{thread}" for thread in range(threads)]
    requests = RequestSet(files)
    outs = [path.open("w") for path in files]
    try:
        for n in range(count):
            channel = channels[n % len(channels)]
            path, body, headers = builders[channel](secrets[channel], run, n, now)
            delivery_id, expected = expected_of(bot, channel, path, body, headers)
            requests.expected[delivery_id] = expected
            headers["Content-Type"] = "application/json"
            fields = [path, body.decode(), *(x for pair in headers.items() for x in pair)]
            outs[n % threads].write("\t".join(fields) + "\n")
    finally:
        for out in outs:
            out.close()
    return requests


# --- wrk -----------------------------------------------------------------------------------

WRK_SCRIPT = r"""
-- deskhand bench webhook: cycle through pre-signed requests, note every 200's delivery id.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local next_request = 0
acked = {}
statuses = {}

function init(args)
  for line in io.lines(os.getenv("DESKHAND_WRK_REQUESTS") .. "." .. id) do
    local fields = {}
    for value in line:gmatch("[^\t]+") do fields[#fields + 1] = value end
    local headers = {}
    for j = 3, #fields - 1, 2 do headers[fields[j]] = fields[j + 1] end
    requests[#requests + 1] = wrk.format("POST", fields[1], headers, fields[2])
  end
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 then
    local id = body:match('"delivery_id":"([^"]*)"')
    if id then acked[#acked + 1] = id end
  end
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("DESKHAND_WRK_OUT"), "w")
  local e = summary.errors
  out:write(string.format('{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99)))
  out:write(string.format('"errors":%d,"statuses":{',
    e.connect + e.read + e.write + e.timeout))
  local merged = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do merged[code] = (merged[code] or 0) + n end
  end
  local first = true
  for code, n in pairs(merged) do
    out:write(string.format('%s"%s":%d', first and "" or ",", code, n))
    first = false
  end
  out:write('},"acked":[')
  first = true
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("acked")) do
      out:write(string.format('%s"%s"', first and "" or ",", id))
      first = false
    end
  end
  out:write("]}\n")
  out:close()
end
"""


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def load_threads(connections: int) -> int:
    """Load threads: a quarter of the CPUs (the server and Redis need the rest), 1 to 4."""
    return max(1, min(connections, 4, (os.cpu_count() or 1) // 4))


def run_wrk(
    url: str, requests: RequestSet, seconds: float, connections: int, folder: Path
) -> LoadResult:
    binary = wrk_binary()
    assert binary is not None
    script = folder / "deskhand-bench.lua"
    script.write_text(WRK_SCRIPT)
    out = folder / f"wrk-{uuid.uuid4().hex[:8]}.json"
    prefix = str(requests.files[0])[: -len(".0")]
    env = {**os.environ, "DESKHAND_WRK_REQUESTS": prefix, "DESKHAND_WRK_OUT": str(out)}
    command = [
        binary, "-t", str(len(requests.files)), "-c", str(connections),
        "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), url,
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - the wrk found on PATH
        command, env=env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-1500:]}")
    data = json.loads(out.read_text())
    return LoadResult(
        requests=int(data["requests"]),
        seconds=int(data["duration_us"]) / 1e6,
        p50_ms=int(data["p50_us"]) / 1000,
        p99_ms=int(data["p99_us"]) / 1000,
        statuses={int(code): int(n) for code, n in data["statuses"].items()},
        errors=int(data["errors"]),
        acked=list(data["acked"]),
    )


# --- the fallback: Python processes ----------------------------------------------------------


def run_python(
    url: str, requests: RequestSet, seconds: float, connections: int, folder: Path
) -> LoadResult:
    """Without wrk: one process per request file, its share of the connections each."""
    processes = len(requests.files)
    shares = [connections // processes + (i < connections % processes) for i in range(processes)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        parts = list(
            pool.map(
                _load_process,
                [url] * processes,
                [str(path) for path in requests.files],
                [seconds] * processes,
                shares,
            )
        )
    latencies = sorted(latency for part in parts for latency in part["latencies"])
    statuses: dict[int, int] = {}
    for part in parts:
        for code, n in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    return LoadResult(
        requests=len(latencies),
        seconds=max(part["seconds"] for part in parts),
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        statuses=statuses,
        errors=sum(part["errors"] for part in parts),
        acked=[acked for part in parts for acked in part["acked"]],
    )


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * pct / 100))] * 1000


def _load_process(url: str, path: str, seconds: float, connections: int) -> dict[str, Any]:
    return asyncio.run(_load(url, path, seconds, connections))


async def _load(url: str, path: str, seconds: float, connections: int) -> dict[str, Any]:
    host, _, port = url.split("://", 1)[1].rstrip("/").partition(":")
    raw = list(_raw_requests(Path(path), f"{host}:{port}"))
    result: dict[str, Any] = {"latencies": [], "statuses": {}, "errors": 0, "acked": []}
    cursor = iter(range(10**12))
    started = time.monotonic()
    deadline = started + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.monotonic() < deadline:
                request = raw[next(cursor) % len(raw)]
                sent = time.monotonic()
                writer.write(request)
                status, body = await _read_response(reader)
                result["latencies"].append(time.monotonic() - sent)
                result["statuses"][status] = result["statuses"].get(status, 0) + 1
                found = DELIVERY_ID.search(body) if status == 200 else None
                if found:
                    result["acked"].append(found.group(1).decode())
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    result["seconds"] = time.monotonic() - started
    return result


def _raw_requests(path: Path, host: str) -> Iterator[bytes]:
    for line in path.read_text().splitlines():
        target, body, *pairs = line.split("\t")
        data = body.encode()
        head = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(data)}"]
        head += [f"{pairs[i]}: {pairs[i + 1]}" for i in range(0, len(pairs) - 1, 2)]
        yield ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return status, await reader.readexactly(length)


def run_load(
    url: str, requests: RequestSet, seconds: float, connections: int, folder: Path
) -> LoadResult:
    """wrk when it is installed, Python processes otherwise."""
    runner = run_wrk if wrk_binary() else run_python
    return runner(url, requests, seconds, connections, folder)


# --- nothing lost ----------------------------------------------------------------------------


async def missing(redis: Redis, prefix: str, expected: dict[str, Expected], acked: set[str]) -> int:
    """How many messages of the deliveries answered 200 are not in their mailboxes."""
    wanted: dict[str, set[str]] = {}
    for delivery_id in acked:
        for conversation, message_id in expected[delivery_id].messages:
            wanted.setdefault(conversation, set()).add(message_id)
    conversations = sorted(wanted)
    lost = 0
    for start in range(0, len(conversations), 200):
        chunk = conversations[start : start + 200]
        pipe = redis.pipeline(transaction=False)
        for conversation in chunk:
            pipe.lrange(f"{prefix}conv:{{{conversation}}}:mailbox", 0, -1)
        for conversation, raw in zip(chunk, await pipe.execute(), strict=True):
            stored = {json.loads(item)["message_id"] for item in raw}
            lost += len(wanted[conversation] - stored)
    return lost
