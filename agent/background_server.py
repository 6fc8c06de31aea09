"""Run an ASGI app with uvicorn on a local port in a background thread (real HTTP).

Used by the scripted model server, replays, benchmarks and the tests, which all need a
real server they can start and stop from synchronous code.
"""

import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn

from agent.listening import tcp_listener


class BackgroundServer:
    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Literal["on", "off"] = "off",
        startup_timeout_s: float = 10.0,
        name: str = "background-server",
    ) -> None:
        self.app = app
        self._host, self._port = host, port
        self._lifespan = lifespan
        self._startup_timeout_s = startup_timeout_s
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._address: tuple[str, int] | None = None

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server listens on (still known after ``stop()``)."""
        if self._address is None:
            raise RuntimeError(f"{self._name} was never started")
        return self._address

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already started")
        sock = tcp_listener(self._host, self._port, backlog=128)
        host, port = sock.getsockname()[:2]
        self._address = (str(host), int(port))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan=self._lifespan,
            loop="asyncio",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._socket, self._server = sock, uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=self._name, daemon=True
        )
        self._thread.start()
        self._wait_until_serving()
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, release the port. Idempotent."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=5)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_serving(self) -> None:
        assert self._server is not None and self._thread is not None
        deadline = time.monotonic() + self._startup_timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.005)
        with socket.create_connection(self.address, timeout=self._startup_timeout_s):
            pass  # the port answers
