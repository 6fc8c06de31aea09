"""Fixtures of the model-client tests: a real scripted server and fast clients."""

import random
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from agent.llm.circuit import CircuitBreaker
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.stub import ScriptedModelServer


class RecordingSleep:
    """Stands in for asyncio.sleep: records the delays, waits for nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeClient = Callable[..., ChatClient]


@pytest.fixture(scope="module")
def _shared_stub() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def stub(_shared_stub: ScriptedModelServer) -> ScriptedModelServer:
    """The module's scripted server, with an empty script and no recorded requests."""
    _shared_stub.set_script([])
    _shared_stub.clear_requests()
    return _shared_stub


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_client(
    stub: ScriptedModelServer, sleeps: RecordingSleep, clock: FakeClock
) -> AsyncIterator[MakeClient]:
    """Build clients for the stub: short timeouts, tiny backoff, a fake circuit clock."""
    clients: list[ChatClient] = []

    def make(**overrides: Any) -> ChatClient:
        settings: dict[str, Any] = {
            "base_url": stub.base_url,
            "timeout_s": 2.0,
            "connect_timeout_s": 1.0,
            "max_retries": 2,
            "backoff_base_s": 0.01,
            "backoff_max_s": 0.05,
            "circuit_failures": 3,
            "circuit_reset_s": 30.0,
        }
        settings.update(overrides)
        config = LLMConfig(**settings)
        circuit = CircuitBreaker(config.circuit_failures, config.circuit_reset_s, clock=clock)
        client = ChatClient(config, sleep=sleeps, rng=random.Random(7), circuit=circuit)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def closed_port_url() -> str:
    """A local URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
