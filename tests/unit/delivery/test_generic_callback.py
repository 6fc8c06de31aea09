"""The generic channel's signed callback: signature, stable id, retries, clear failures."""

import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.background_server import BackgroundServer
from tests.support.redis_server import free_port
from tests.support.sleeps import Sleeps
from tools.delivery.generic_callback import GenericCallbackClient
from tools.errors import DeliveryError
from tools.retry import RetryPolicy
from tools.signing.standard_webhooks import generate_secret, verify

SECRET = generate_secret()


class Receiver:
    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []

    def app(self) -> Starlette:
        async def events(request: Request) -> JSONResponse:
            self.received.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 200
            headers = {"retry-after": "7"} if status == 429 else {}
            return JSONResponse({}, status_code=status, headers=headers)

        return Starlette(routes=[Route("/events", events, methods=["POST"])])


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    recorder = Receiver()
    with BackgroundServer(recorder.app()) as server:
        yield recorder, f"{server.base_url}/events"


async def send(url: str, sleeps: Sleeps, retries: int = 3) -> None:
    async with httpx.AsyncClient() as http:
        client = GenericCallbackClient(
            http,
            timeout_s=2,
            retry=RetryPolicy(max_retries=retries, backoff_base_s=0.01),
            sleep=sleeps,
        )
        await client.send(url, SECRET, {"type": "message.created", "text": "hi"}, "evt-1")


async def test_event_is_signed_with_a_stable_id(receiver: tuple[Receiver, str]) -> None:
    recorder, url = receiver
    await send(url, Sleeps())
    ((headers, body),) = recorder.received
    assert verify([SECRET], headers, body) == "evt-1"
    assert json.loads(body) == {"type": "message.created", "text": "hi"}


async def test_server_errors_are_retried_with_the_same_id(receiver: tuple[Receiver, str]) -> None:
    recorder, url = receiver
    recorder.statuses = [503, 429]
    sleeps = Sleeps()
    await send(url, sleeps)
    assert [h["webhook-id"] for h, _ in recorder.received] == ["evt-1"] * 3
    assert len(sleeps.delays) == 2 and sleeps.delays[1] == 7.0  # Retry-After honoured (capped)


async def test_client_errors_are_not_retried(receiver: tuple[Receiver, str]) -> None:
    recorder, url = receiver
    recorder.statuses = [410]
    with pytest.raises(DeliveryError, match="answered 410"):
        await send(url, Sleeps())
    assert len(recorder.received) == 1


async def test_gives_up_after_the_retries_allowed(receiver: tuple[Receiver, str]) -> None:
    recorder, url = receiver
    recorder.statuses = [500] * 5
    with pytest.raises(DeliveryError, match=r"answered 500 \(after 3 attempts\)"):
        await send(url, Sleeps(), retries=2)
    assert len(recorder.received) == 3


async def test_unreachable_url_is_a_delivery_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/events"
    with pytest.raises(DeliveryError, match="ConnectError"):
        await send(url, Sleeps(), retries=1)
