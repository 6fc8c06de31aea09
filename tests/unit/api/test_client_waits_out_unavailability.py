"""``DeskhandClient.wait_reply`` waits out a 503 (Redis restarting) instead of giving up.

A real HTTP server answers the conversations route: first with 503 and ``Retry-After``,
then with the transcript. A 503 from deskhand's own error handler carries the header.
"""

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.api.errors import error_response
from agent.background_server import BackgroundServer
from agent.cli.client import ClientError, DeskhandClient
from agent.runtime.stores import RuntimeStoreError

TRANSCRIPT = {
    "mode": "bot",
    "entries": [
        {"author": "customer", "message_id": "m-1", "text": "hello"},
        {"author": "bot", "text": "Hi there", "answers": ["m-1"]},
    ],
}


class FlakyConversations:
    """Answers 503 ``unavailable_for`` times, then the transcript; counts the polls."""

    def __init__(self, unavailable_for: int) -> None:
        self.unavailable_for = unavailable_for
        self.polls: list[float] = []

    async def conversation(self, request: Request) -> JSONResponse:
        self.polls.append(time.monotonic())
        if len(self.polls) <= self.unavailable_for:
            return error_response(request.url.path, RuntimeStoreError("Connection closed"))
        return JSONResponse(TRANSCRIPT)


def _client(server: BackgroundServer) -> DeskhandClient:
    return DeskhandClient(server.base_url, "demo", "secret", "token", timeout_s=5)


def _app(flaky: FlakyConversations) -> Starlette:
    return Starlette(routes=[Route("/v1/conversations/{key}", flaky.conversation)])


def test_a_503_carries_retry_after_and_the_client_waits_it_out() -> None:
    flaky = FlakyConversations(unavailable_for=2)
    with BackgroundServer(_app(flaky)) as server:
        client = _client(server)
        reply = client.wait_reply("c-1", "m-1", timeout_s=10)
        client.close()
    assert reply.text == "Hi there"
    assert len(flaky.polls) == 3
    # Retry-After: 1 was honoured between the polls, not the 0.25 s poll interval
    assert flaky.polls[1] - flaky.polls[0] >= 0.9


def test_unavailable_until_the_deadline_names_the_last_problem() -> None:
    flaky = FlakyConversations(unavailable_for=1000)
    with BackgroundServer(_app(flaky)) as server:
        client = _client(server)
        with pytest.raises(ClientError) as raised:
            client.wait_reply("c-1", "m-1", timeout_s=1.5)
        client.close()
    assert "no reply within 1.5s" in str(raised.value)
    assert "503: a dependency is unavailable" in str(raised.value)


def test_a_server_out_of_reach_is_waited_for_until_the_deadline() -> None:
    with BackgroundServer(_app(FlakyConversations(0))) as server:
        base_url = server.base_url
    client = DeskhandClient(base_url, "demo", "secret", "token", timeout_s=1)
    with pytest.raises(ClientError, match="cannot reach deskhand"):
        client.wait_reply("c-1", "m-1", timeout_s=1)
    client.close()


def test_a_refusal_other_than_503_is_not_retried() -> None:
    async def forbidden(request: Request) -> JSONResponse:
        return JSONResponse({"error": "unknown token"}, status_code=401)

    app = Starlette(routes=[Route("/v1/conversations/{key}", forbidden)])
    with BackgroundServer(app) as server:
        client = _client(server)
        started = time.monotonic()
        with pytest.raises(ClientError, match="401: unknown token"):
            client.wait_reply("c-1", "m-1", timeout_s=10)
        client.close()
    assert time.monotonic() - started < 5
