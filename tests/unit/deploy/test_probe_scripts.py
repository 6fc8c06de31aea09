"""deploy/vllm/ready.py (vLLM readiness) and deploy/docker/healthcheck.py (the deskhand
image's health check), run as the images run them, against the scripted model server."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from agent.llm.stub import ScriptedModelServer
from tests.unit.deploy.support import DEPLOY

READY = DEPLOY / "vllm" / "ready.py"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"


@pytest.fixture(scope="module")
def model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer(model_name="qwen3.5-9b") as server:
        yield server


def run(script: os.PathLike[str], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ready_when_the_served_model_is_listed(model_server: ScriptedModelServer) -> None:
    result = run(READY, model_server.base_url, VLLM_SERVED_MODEL_NAME="qwen3.5-9b")
    assert result.returncode == 0, result.stderr


def test_unready_while_an_adapter_is_missing(model_server: ScriptedModelServer) -> None:
    result = run(
        READY,
        model_server.base_url,
        VLLM_SERVED_MODEL_NAME="qwen3.5-9b",
        VLLM_LORA_MODULES="acme=/models/adapters/acme",
    )
    assert result.returncode == 1
    assert "['acme'] not served" in result.stderr


def test_unready_when_nothing_answers() -> None:
    result = run(READY, VLLM_PORT=str(closed_port()))
    assert result.returncode == 1
    assert "/v1/models failed" in result.stderr


def test_healthcheck_passes_on_a_2xx(model_server: ScriptedModelServer) -> None:
    url = f"{model_server.base_url}/v1/models"
    assert run(HEALTHCHECK, DESKHAND_HEALTHCHECK_URL=url).returncode == 0


def test_healthcheck_fails_on_an_error_or_silence(model_server: ScriptedModelServer) -> None:
    missing = run(HEALTHCHECK, DESKHAND_HEALTHCHECK_URL=f"{model_server.base_url}/nope")
    assert missing.returncode == 1
    silent = run(HEALTHCHECK, DESKHAND_PORT=str(closed_port()))
    assert silent.returncode == 1
    assert "/healthz" in silent.stderr  # the API's liveness route by default
