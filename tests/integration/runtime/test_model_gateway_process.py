"""The model gateway as the worker supervisor runs it: forked before the workers, replaced
when it dies (on the same port), left alone when a worker dies, stopped after the workers.

The supervisor runs in a process of its own (the script below: the real ``Supervisor``,
``bind_gateway_socket`` and ``run_gateway``; its worker processes only sleep), in front of
the scripted model server run by the test.
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from agent.llm.stub import ScriptedModelServer, ScriptedResponse
from tests.support.processes import stop_process_group, wait_while_running

SUPERVISED_GATEWAY = textwrap.dedent(
    """
    import os, signal, sys
    from functools import partial
    import httpx
    from agent.llm.gateway import GatewayConfig, bind_gateway_socket, gateway_url, run_gateway
    from agent.runtime.supervisor import Service, Supervisor

    def say(line):
        print(line, flush=True)

    sock = bind_gateway_socket()
    url = gateway_url(sock)

    def worker(start):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        say(f"worker {os.getpid()} slot {start.slot}")
        signal.sigwait({signal.SIGTERM})
        # its last turn: the gateway still answers
        body = {"model": "m", "messages": [{"role": "user", "content": "last"}]}
        status = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=5).status_code
        say(f"worker {os.getpid()} stopped after a last call answered {status}")
        return 0

    gateway = Service("model gateway", partial(run_gateway, sock, GatewayConfig(sys.argv[1]), say))
    sys.exit(Supervisor(1, worker, stop_grace_s=5, announce=say, service=gateway).run())
    """
)
GATEWAY_READY = re.compile(r"model gateway process (\d+) ready at (\S+) ")
WORKER_READY = re.compile(r"^worker (\d+) slot 0$", re.MULTILINE)
WAIT_S = 20.0


class Supervised:
    def __init__(self, proc: "subprocess.Popen[str]", log: Path) -> None:
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text()

    def gateways(self) -> list[tuple[int, str]]:
        return [(int(pid), url) for pid, url in GATEWAY_READY.findall(self.text())]

    def workers(self) -> list[int]:
        return [int(pid) for pid in WORKER_READY.findall(self.text())]

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        wait_while_running(self.proc, self.log, condition, what, WAIT_S)


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        server.set_responder(lambda body: ScriptedResponse(content="answered"))
        yield server


@pytest.fixture
def supervised(model: ScriptedModelServer, tmp_path: Path) -> Iterator[Supervised]:
    log = tmp_path / "supervisor.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SUPERVISED_GATEWAY, model.base_url],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    running = Supervised(proc, log)
    try:
        running.wait_for(lambda: bool(running.gateways() and running.workers()), "it started")
        yield running
    finally:
        stop_process_group(proc)


def ask(url: str, session: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"X-Session-Id": session}, timeout=10
    )


def test_a_dead_gateway_is_replaced_on_the_same_port(supervised: Supervised) -> None:
    [(first_pid, url)] = supervised.gateways()
    assert ask(url, "before").json()["choices"][0]["message"]["content"] == "answered"

    os.kill(first_pid, signal.SIGKILL)
    supervised.wait_for(lambda: len(supervised.gateways()) == 2, "a new gateway was ready")

    second_pid, second_url = supervised.gateways()[1]
    assert second_pid != first_pid and second_url == url
    assert ask(url, "after").status_code == 200
    assert f"model gateway process {first_pid} was killed by SIGKILL" in supervised.text()
    assert len(supervised.workers()) == 1  # the worker went on: not replaced


def test_a_dead_worker_leaves_the_gateway_alone(supervised: Supervised) -> None:
    [(gateway_pid, url)] = supervised.gateways()
    [worker_pid] = supervised.workers()

    os.kill(worker_pid, signal.SIGKILL)
    supervised.wait_for(lambda: len(supervised.workers()) == 2, "a new worker was ready")

    assert supervised.gateways() == [(gateway_pid, url)]
    assert ask(url, "s").status_code == 200
    metrics = httpx.get(f"{url}/metrics", timeout=10).text  # the gateway process's own
    assert 'deskhand_model_gateway_requests_total{outcome="miss"} 1.0' in metrics


def test_sigterm_stops_the_workers_then_the_gateway(supervised: Supervised) -> None:
    [(gateway_pid, _)] = supervised.gateways()
    [worker_pid] = supervised.workers()

    supervised.proc.send_signal(signal.SIGTERM)

    assert supervised.proc.wait(timeout=15) == 0
    assert f"worker {worker_pid} stopped after a last call answered 200" in supervised.text()
    for pid in (worker_pid, gateway_pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: gone, not a zombie
