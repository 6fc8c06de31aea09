"""The connections of HTTP tools: one client per event loop, reused by every call.

A client made per call cost a TLS context each time (the CA bundle parsed again: about a
third of a worker's CPU in ``deskhand bench runtime``) and a new connection to the API. An
httpx client is bound to the event loop its connections were opened on, so one is kept per
running loop: a worker process has one; tests and the CLI may run several in turn. A
loop's client goes when the loop is garbage-collected, or with ``aclose`` on that loop.
"""

import asyncio
import weakref

import httpx

from tools.tls import default_tls_context

# Bounds per call (timeout, size) come with each request; these are the pool's own.
MAX_CONNECTIONS = 100
MAX_KEEPALIVE = 20
KEEPALIVE_EXPIRY_S = 30.0


class HttpPool:
    """Hands out the running loop's client of HTTP tools, made on first use."""

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def client(self) -> httpx.AsyncClient:
        """The running loop's client (no redirect followed, no proxy from the environment)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            limits = httpx.Limits(
                max_connections=MAX_CONNECTIONS,
                max_keepalive_connections=MAX_KEEPALIVE,
                keepalive_expiry=KEEPALIVE_EXPIRY_S,
            )
            client = httpx.AsyncClient(
                follow_redirects=False,
                trust_env=False,
                limits=limits,
                verify=default_tls_context(),
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the running loop's client, if it made one (a later call makes another)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
