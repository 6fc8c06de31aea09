"""The bot-file generations' contract, in-process and on Redis: one counter per tenant."""

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent.runtime.config_generations import (
    ConfigGenerations,
    MemoryConfigGenerations,
    RedisConfigGenerations,
)
from agent.runtime.redis_keys import RedisKeys


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def generations(request: pytest.FixtureRequest) -> AsyncIterator[ConfigGenerations]:
    if request.param == "memory":
        yield MemoryConfigGenerations()
        return
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    yield RedisConfigGenerations(client, RedisKeys(request.getfixturevalue("redis_prefix")))
    await client.aclose()


async def test_each_tenant_counts_its_own_reloads(generations: ConfigGenerations) -> None:
    assert await generations.current() == {}
    assert await generations.bump("demo") == 1
    assert await generations.bump("demo") == 2
    assert await generations.bump("acme") == 1
    assert await generations.current() == {"demo": 2, "acme": 1}
