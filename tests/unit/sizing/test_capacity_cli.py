"""deskhand capacity as a user runs it: the printed assumptions, the JSON shape, exit codes."""

import json

import typer
from typer.testing import CliRunner, Result

from agent.cli.capacity import capacity

runner = CliRunner()
app = typer.Typer()
app.command()(capacity)  # the function deskhand registers as ``deskhand capacity``

H100 = ["--gpu-mem-gb", "80", "--avg-prompt-tokens", "1024", "--avg-output-tokens", "128"]


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_prints_every_assumption_with_its_source_and_the_binding_limit() -> None:
    result = invoke(*H100, "--turns-per-conversation", "6")
    assert result.exit_code == 0, result.output
    for name in (
        "weights = 19.3 GB",
        "kv_cache_per_token = 32,768 bytes",
        "gdn_layer_state = 2,146,304 bytes",
        "block_tokens = 528 tokens",
        "throughput_profile_total_tps = 29,822 tokens/s",
        "sharegpt_profile_total_tps = 11,527 tokens/s",
        "loaded_tpot = 15.1 ms",
        "overhead = 2 GiB",
    ):
        line = next(line for line in result.output.splitlines() if name in line)
        assert "[" in line and ("reference" in line or "assumption" in line), line
    # hand-computed in test_capacity.py: compute binds at 25.8872 turns/s; 538 sequences fit
    assert "538 sequences fit" in result.output
    assert "Result: 25.89 turns/s per GPU, limited by compute" in result.output
    assert "15,532 conversations per hour (6 turns each)" in result.output


def test_json_output_shape() -> None:
    result = invoke(*H100, "--turns-per-conversation", "6", "--max-num-seqs", "16", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"inputs", "assumptions", "memory", "limits", "result"}
    assert data["inputs"]["max_num_seqs"] == 16 and data["inputs"]["dtype"] == "bf16"
    assert {a["name"] for a in data["assumptions"]} >= {
        "weights",
        "kv_cache_per_token",
        "gdn_layer_state",
        "block_tokens",
        "throughput_profile_total_tps",
        "sharegpt_profile_total_tps",
        "loaded_tpot",
    }
    assert all(set(a) == {"name", "value", "unit", "source"} for a in data["assumptions"])
    assert all(a["source"] for a in data["assumptions"])
    assert set(data["limits"]) == {"memory", "max-num-seqs", "compute"}
    assert set(data["limits"]["compute"]) == {"model_calls_per_s", "turns_per_s"}
    assert data["memory"]["sequences"] == 538
    assert data["memory"]["block_tokens"] == 528
    # 16 / 1.967137 s = 8.13365 turns/s (test_capacity.py)
    assert data["result"]["binding_limit"] == "max-num-seqs"
    assert abs(data["result"]["turns_per_s"] - 8.13365) < 1e-3
    assert set(data["result"]) == {
        "binding_limit",
        "model_call_latency_s",
        "model_calls_per_s",
        "turns_per_s",
        "conversations_in_a_turn",
        "open_conversations",
        "conversations_per_hour",
    }


def test_a_gpu_too_small_for_the_weights_exits_2_with_a_clear_message() -> None:
    result = invoke(
        "--gpu-mem-gb", "16", "--avg-prompt-tokens", "4000", "--avg-output-tokens", "200",
        "--turns-per-conversation", "6",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "weights (19.3 GB) do not fit" in result.output
    assert "Traceback" not in result.output


def test_fp8_fits_where_bf16_does_not() -> None:
    result = invoke(
        "--gpu-mem-gb", "16", "--avg-prompt-tokens", "4000", "--avg-output-tokens", "200",
        "--turns-per-conversation", "6", "--dtype", "fp8", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["memory"]["sequences"] == 12


def test_negative_numbers_exit_2_naming_the_option() -> None:
    for option, value in (
        ("--avg-prompt-tokens", "-5"),
        ("--avg-output-tokens", "-1"),
        ("--turns-per-conversation", "-3"),
        ("--max-num-seqs", "-8"),
        ("--gpu-util", "-0.5"),
    ):
        args = [*H100, "--turns-per-conversation", "6"]
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
        result = invoke(*args)
        assert result.exit_code == 2, (option, result.output)
        assert option in result.output, (option, result.output)


def test_an_unknown_dtype_exits_2() -> None:
    result = invoke(*H100, "--turns-per-conversation", "6", "--dtype", "int4")
    assert result.exit_code == 2
    assert "--dtype must be bf16 or fp8" in result.output
