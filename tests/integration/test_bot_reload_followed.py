"""A bot file reloaded in one process reaches the others on the same Redis: each follows
the tenant's generation and reads the file again, tools included."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml
from redis.asyncio import Redis

from agent.bot_reload import BotReload, follow_reloads, reload_bot
from agent.config.settings import DEMO_TENANTS_DIR
from agent.config.tenants import TenantRegistry
from agent.runtime.config_generations import RedisConfigGenerations
from agent.runtime.redis_keys import RedisKeys
from agent.tenant_helpdesks import TenantHelpdesks, helpdesk_connection
from agent.tenant_tools import TenantTools

pytestmark = pytest.mark.redis


class Process:
    """What one deskhand process holds: its tenants and their tools."""

    def __init__(self, tenants_dir: Path) -> None:
        self.tenants = TenantRegistry.load(tenants_dir)
        self.tools = TenantTools.load(self.tenants, {"DESKHAND_PORT": "8080"})
        # What its helpdesks were opened with (none is used here).
        started = {t: helpdesk_connection(self.tenants.get(t)) for t in self.tenants.tenants}
        self.helpdesks = TenantHelpdesks({}, started)

    def reload(self, tenant: str) -> BotReload:
        environ = {"DESKHAND_PORT": "8080"}
        return reload_bot(self.tenants, self.tools, self.helpdesks, tenant, environ)


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tenants"
    folder.mkdir()
    data = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    data["tools_file"] = str((DEMO_TENANTS_DIR / data["tools_file"]).resolve())
    (folder / "demo.yaml").write_text(yaml.safe_dump(data))
    return folder


@pytest.fixture
async def generations(redis_url: str, redis_prefix: str) -> AsyncIterator[RedisConfigGenerations]:
    client = Redis.from_url(redis_url)
    yield RedisConfigGenerations(client, RedisKeys(redis_prefix))
    await client.aclose()


def rewrite(tenants_dir: Path, **changes: object) -> None:
    path = tenants_dir / "demo.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))


async def until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not followed in time"
        await asyncio.sleep(0.02)


async def test_another_process_follows_a_reload_and_keeps_its_bot_on_a_bad_file(
    tenants_dir: Path, generations: RedisConfigGenerations, caplog: pytest.LogCaptureFixture
) -> None:
    api, worker = Process(tenants_dir), Process(tenants_dir)
    stop = asyncio.Event()
    follower = asyncio.create_task(follow_reloads(generations, worker.reload, stop, every_s=0.02))
    try:
        await asyncio.sleep(0.1)  # its first look: nothing to follow
        assert worker.tenants.get("demo").company == "Brightleaf Home"

        fewer = sorted(api.tools.get("demo").names - {"cancel_order"})
        rewrite(tenants_dir, company="Brightleaf Lighting", tools=fewer)
        api.reload("demo")
        await generations.bump("demo")
        await until(lambda: worker.tenants.get("demo").company == "Brightleaf Lighting")
        assert worker.tools.get("demo").names == set(fewer)

        rewrite(tenants_dir, company="Broken", retrieval={"top_k": 0})
        await generations.bump("demo")  # as if another process had reloaded a newer file
        await until(lambda: "could not be used here" in caplog.text)
        assert worker.tenants.get("demo").company == "Brightleaf Lighting"

        helpdesk = {"platform": "builtin", "handoff_group_id": "tier-2"}
        rewrite(tenants_dir, company="Brightleaf Home", retrieval={"top_k": 4}, helpdesk=helpdesk)
        await generations.bump("demo")
        await until(lambda: "only a restart applies" in caplog.text)
        assert worker.tenants.get("demo").company == "Brightleaf Home"  # the rest is in use
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
