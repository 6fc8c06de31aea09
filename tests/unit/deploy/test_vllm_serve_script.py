"""deploy/vllm/serve.sh builds the command the reference note calls for."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "deploy" / "vllm" / "serve.sh"


def dry_run(**env: str) -> list[str]:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_default_command_has_the_qwen35_flags() -> None:
    args = dry_run()
    assert args[:3] == ["vllm", "serve", "Qwen/Qwen3.5-9B"]
    for flag in (
        "--enable-auto-tool-choice",
        "--language-model-only",
        "--enable-prefix-caching",
        "--trust-remote-code",
    ):
        assert flag in args
    assert args[args.index("--reasoning-parser") + 1] == "qwen3"
    assert args[args.index("--tool-call-parser") + 1] == "qwen3_coder"
    assert args[args.index("--max-num-queued-reqs") + 1] == "256"
    assert "--speculative-config" not in args


def test_mtp_never_comes_with_prefix_caching() -> None:
    args = dry_run(VLLM_SPEEDUP="mtp")
    assert "--speculative-config" in args
    assert "--enable-prefix-caching" not in args
    assert "--no-enable-prefix-caching" in args


def test_fp8_variant_quantises_online() -> None:
    args = dry_run(VLLM_PRECISION="fp8")
    assert args[args.index("--quantization") + 1] == "fp8"


def test_environment_overrides_the_env_file() -> None:
    args = dry_run(VLLM_MAX_MODEL_LEN="65536", VLLM_SERVED_MODEL_NAME="acme-lora")
    assert args[args.index("--max-model-len") + 1] == "65536"
    assert args[args.index("--served-model-name") + 1] == "acme-lora"


@pytest.mark.parametrize(
    ("variable", "value"), [("VLLM_SPEEDUP", "both"), ("VLLM_PRECISION", "int3")]
)
def test_invalid_choice_is_refused(variable: str, value: str) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"],
        env={"PATH": os.environ["PATH"], variable: value},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert variable in result.stderr


def test_lora_adapters_are_served_by_name() -> None:
    args = dry_run(VLLM_LORA_MODULES="acme=/models/adapters/acme globex=/models/adapters/globex")
    assert "--enable-lora" in args
    start = args.index("--lora-modules") + 1
    assert args[start : start + 2] == [
        "acme=/models/adapters/acme",
        "globex=/models/adapters/globex",
    ]
    assert args[args.index("--max-loras") + 1] == "4"
    assert args[args.index("--max-lora-rank") + 1] == "16"
    assert "--enable-lora" not in dry_run()  # no adapters: no LoRA machinery


def test_a_malformed_adapter_is_refused() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"],
        env={"PATH": os.environ["PATH"], "VLLM_LORA_MODULES": "acme"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "'acme' is not name=path" in result.stderr


def test_the_fp8_variant_file_layers_over_the_base() -> None:
    variant = SCRIPT.parent / "qwen35-9b-fp8.env"
    args = dry_run(VLLM_ENV_FILE=str(variant))
    assert args[args.index("--quantization") + 1] == "fp8"
    assert args[args.index("--max-model-len") + 1] == "65536"
    assert args[args.index("--reasoning-parser") + 1] == "qwen3"  # from the base file
    explicit = dry_run(VLLM_ENV_FILE=str(variant), VLLM_MAX_MODEL_LEN="16384")
    assert explicit[explicit.index("--max-model-len") + 1] == "16384"  # the environment wins


def test_a_prequantised_checkpoint_brings_its_own_scheme() -> None:
    args = dry_run(VLLM_PRECISION="checkpoint", VLLM_MODEL="RedHatAI/Qwen3.5-9B-FP8-dynamic")
    assert args[2] == "RedHatAI/Qwen3.5-9B-FP8-dynamic"
    assert "--quantization" not in args
    assert args[args.index("--dtype") + 1] == "auto"


def test_thinking_defaults_off_and_batch_and_graph_sizes_are_set() -> None:
    args = dry_run(VLLM_MAX_CUDAGRAPH_CAPTURE_SIZE="128")
    kwargs = args[args.index("--default-chat-template-kwargs") + 1]
    assert kwargs.replace("\\", "") == '{"enable_thinking":false}'
    assert args[args.index("--max-num-seqs") + 1] == "64"
    assert args[args.index("--max-cudagraph-capture-size") + 1] == "128"
    assert "--max-cudagraph-capture-size" not in dry_run()
