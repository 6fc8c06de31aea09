"""The sockets we bind for uvicorn send small writes at once (no ~40 ms Nagle wait on a
response written as headers then body): the model gateway's and the background servers'."""

import socket
from collections.abc import Callable

import pytest

from agent.listening import tcp_listener
from agent.llm.gateway import bind_gateway_socket


def _accepted_nodelay(listener: socket.socket) -> int:
    host, port = listener.getsockname()[:2]
    with socket.create_connection((host, port), timeout=5):
        accepted, _ = listener.accept()
        with accepted:
            return accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.parametrize(
    "bind",
    [lambda: tcp_listener("127.0.0.1", 0, backlog=8), bind_gateway_socket],
    ids=["tcp_listener", "gateway"],
)
def test_accepted_connections_have_nodelay(bind: Callable[[], socket.socket]) -> None:
    with bind() as listener:
        assert listener.proto == socket.IPPROTO_TCP  # asyncio sets NODELAY on these too
        assert _accepted_nodelay(listener) != 0


def test_a_plain_socket_would_not() -> None:
    """What the helper guards against: accepted sockets of a plain listener lack it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen(8)
        assert _accepted_nodelay(plain) == 0
