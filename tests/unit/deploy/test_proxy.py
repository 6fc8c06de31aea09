"""Sticky routing through deploy/k8s/proxy/nginx.conf: a real nginx (Debian's nginx-light,
installed by .ci/run) in front of two scripted model servers; deskhand's client sends the
routing header, and every request of one conversation reaches one replica."""

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.config.settings import Settings
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.stub import ScriptedModelServer, ScriptedResponse
from agent.llm.types import ChatMessage, ChatOptions
from tests.unit.deploy.support import DEPLOY, tool

CONF = DEPLOY / "k8s" / "proxy" / "nginx.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_config(upstreams: list[str], port: int) -> str:
    """The shipped config with the replicas' names swapped for local servers: the routing
    (map, hash ... consistent, proxy settings) is what runs."""
    text = CONF.read_text()
    text = re.sub(r"^\s*resolver .*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*#?\s*server vllm-\d.*$", "", text, flags=re.MULTILINE)
    servers = "".join(f"        server {address};\n" for address in upstreams)
    text = text.replace("hash $route_key consistent;\n", f"hash $route_key consistent;\n{servers}")
    return text.replace("listen 8000;", f"listen 127.0.0.1:{port};")


def test_the_proxy_hashes_on_the_header_deskhand_sends() -> None:
    text = CONF.read_text()
    header = Settings().llm_routing_header.lower().replace("-", "_")
    assert f"map $http_{header} $route_key" in text
    assert re.search(r"^\s*hash \$route_key consistent;$", text, re.MULTILINE)
    assert re.search(r"^\s*server vllm-0\.vllm\.[a-z0-9.-]+:8000 resolve;$", text, re.MULTILINE)


@pytest.fixture
def replicas() -> Iterator[list[ScriptedModelServer]]:
    answers = [ScriptedResponse(content="ok", repeat=500)]
    with ScriptedModelServer(answers) as one, ScriptedModelServer(answers) as two:
        yield [one, two]


@pytest.fixture
def proxy(tmp_path: Path, replicas: list[ScriptedModelServer]) -> Iterator[str]:
    nginx = tool("nginx") or (Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    port = free_port()
    upstreams = [server.base_url.removeprefix("http://") for server in replicas]
    config = local_config(upstreams, port).replace("/tmp/", f"{tmp_path}/")
    (tmp_path / "nginx.conf").write_text(config)
    command = [str(nginx), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("nginx did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_one_conversation_stays_on_one_replica(
    proxy: str, replicas: list[ScriptedModelServer]
) -> None:
    conversations = [f"acme:zendesk:{n}" for n in range(24)]
    async with ChatClient(LLMConfig(base_url=proxy, max_retries=0)) as client:
        for _round in range(3):
            for key in conversations:
                options = ChatOptions(routing_key=key)
                await client.chat([ChatMessage(role="user", content=key)], options=options)

    served_by: dict[str, set[int]] = {}
    for index, replica in enumerate(replicas):
        for body in replica.requests:
            served_by.setdefault(body["messages"][0]["content"], set()).add(index)
    assert set(served_by) == set(conversations)
    assert all(len(where) == 1 for where in served_by.values()), served_by
    load = [len(replica.requests) for replica in replicas]
    assert min(load) > 0, f"every conversation went to one replica: {load}"
