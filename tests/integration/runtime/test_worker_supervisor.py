"""The worker supervisor on real Redis: a SIGKILLed worker process is replaced, and the
replacement finishes the conversation it held, without waiting for its lease or heartbeat.

The supervisor runs as a process of its own (``supervised_pool.py``: the real
``Supervisor`` and ``WorkerPool``, simple turns) with one worker process. Its leases and
heartbeats last 60 s: a take-over within the test's 30 s wait can only come from the
replacement declaring its reaped predecessor dead.
"""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from agent.runtime.models import InboundMessage
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_mailboxes import RedisMailboxes
from tests.support.processes import stop_process_group, wait_while_running
from tools.context import Customer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("supervised_pool.py")
WAIT_S = 30.0  # well under the 60 s leases and heartbeats of the supervised pool


class Supervised:
    def __init__(self, proc: "subprocess.Popen[str]", log: Path) -> None:
        self.proc = proc
        self.log = log

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def ready(self) -> list[list[str]]:
        """``[pid, slot, holder, predecessor]`` of every worker process that said ready."""
        return [line.split()[1:] for line in self.lines() if line.startswith("ready ")]


@pytest.fixture
def supervised(redis_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[Supervised]:
    log = tmp_path / "supervisor.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), redis_url, redis_prefix, "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    running = Supervised(proc, log)
    try:
        wait_for(lambda: len(running.ready()) == 1, "the worker process was ready", running)
        yield running
    finally:
        stop_process_group(proc)


def wait_for(condition: Callable[[], bool], what: str, supervised: Supervised) -> None:
    wait_while_running(supervised.proc, supervised.log, condition, what, WAIT_S)


def append(redis_url: str, prefix: str, conversation: str, text: str) -> None:
    async def go() -> None:
        client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(redis_url)
        boxes = RedisMailboxes(client, RedisKeys(prefix), retention_s=3600)
        message = InboundMessage("demo", "generic", conversation, f"{conversation}-m1", text,
                                 Customer("cust-1"))  # fmt: skip
        await boxes.append(message, delay_s=0)
        await client.aclose()

    asyncio.run(go())


def events(redis_url: str, prefix: str) -> list[list[str]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    raw = client.lrange(prefix + "log", 0, -1)
    client.close()
    return [str(item).split() for item in raw]


def test_a_killed_worker_is_replaced_and_its_conversation_finished(
    supervised: Supervised, redis_url: str, redis_prefix: str
) -> None:
    [[first_pid, slot, first_holder, _]] = supervised.ready()
    append(redis_url, redis_prefix, "c-1", "hang")
    wait_for(
        lambda: ["claimed", first_pid, "demo:generic:c-1", "0"] in events(redis_url, redis_prefix),
        "the first worker process claimed the conversation",
        supervised,
    )
    os.kill(int(first_pid), signal.SIGKILL)
    wait_for(
        lambda: any(e[0] == "finished" for e in events(redis_url, redis_prefix)),
        "the conversation was finished",
        supervised,
    )
    replacement = supervised.ready()[-1]
    assert replacement[0] != first_pid and replacement[1] == slot
    assert replacement[3] == first_holder  # it was told whose conversations to take over
    finished = [e for e in events(redis_url, redis_prefix) if e[0] == "finished"]
    assert finished == [["finished", replacement[0], "demo:generic:c-1", "1"]]  # one crash
    assert any(f"worker process {first_pid} (slot 0) was killed by SIGKILL" in line
               for line in supervised.lines())  # fmt: skip


def test_sigterm_stops_the_supervisor_and_its_workers(supervised: Supervised) -> None:
    [[pid, *_]] = supervised.ready()
    supervised.proc.send_signal(signal.SIGTERM)
    assert supervised.proc.wait(timeout=15) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)  # reaped by the supervisor: gone, not a zombie
