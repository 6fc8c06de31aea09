"""The HTTP tools' pool: one client per running event loop, closed on demand."""

import asyncio

import httpx

from tools.http_tools.pool import HttpPool


def test_a_loop_keeps_its_client_and_another_loop_gets_its_own() -> None:
    pool = HttpPool()

    async def twice() -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        return pool.client(), pool.client()

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    assert first is again
    assert other is not first


async def test_a_closed_client_is_replaced_on_the_next_call() -> None:
    pool = HttpPool()
    client = pool.client()
    await pool.aclose()
    assert client.is_closed
    replacement = pool.client()
    assert replacement is not client and not replacement.is_closed
    await pool.aclose()


async def test_the_client_follows_no_redirect_and_ignores_proxy_variables() -> None:
    pool = HttpPool()
    client = pool.client()
    assert client.follow_redirects is False
    assert client.trust_env is False
    await pool.aclose()
