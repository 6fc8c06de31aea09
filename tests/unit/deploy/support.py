"""Shared helpers of the deploy/ checks: paths, YAML documents, the serve script's dry run,
the metric names deskhand exports."""

import os
import shlex
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
SERVE_SCRIPT = DEPLOY / "vllm" / "serve.sh"


def documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if document:
            yield document


def serve_dry_run(env: Mapping[str, str]) -> list[str]:
    """deploy/vllm/serve.sh --dry-run's command, as arguments, with only ``env`` set."""
    result = subprocess.run(
        ["bash", str(SERVE_SCRIPT), "--dry-run"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout)


def deskhand_metric_names() -> set[str]:
    """Every series name agent/metrics.py exports (counters' _total, histograms' parts)."""
    from prometheus_client.metrics import MetricWrapperBase

    import agent.metrics

    names: set[str] = set()
    for value in vars(agent.metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            base = family.name
            if family.type == "counter":
                names |= {f"{base}_total"}
            elif family.type == "histogram":
                names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
            else:
                names.add(base)
    return names


# vLLM's metrics (docs/usage/metrics.md, docs/design/metrics.md; the reference note's §5),
# as exposed: counters with _total, histograms with _bucket/_sum/_count.
VLLM_METRICS = {
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:request_success_total",
    "vllm:prefix_cache_queries_total",
    "vllm:prefix_cache_hits_total",
    *(
        f"vllm:{name}_{part}"
        for name in (
            "time_to_first_token_seconds",
            "inter_token_latency_seconds",
            "e2e_request_latency_seconds",
            "request_queue_time_seconds",
            "request_prefill_time_seconds",
            "request_decode_time_seconds",
        )
        for part in ("bucket", "sum", "count")
    ),
}


def tool(name: str) -> str | None:
    """A command installed beside this Python (the venv's bin/) or on PATH."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)
