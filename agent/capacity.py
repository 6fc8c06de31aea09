"""How many conversations one GPU serving Qwen3.5-9B with vLLM can carry: a sizing model.

Three limits, each turned into model calls per second:

- **memory**: the KV-cache budget (GPU memory x utilisation - weights - overhead) divided
  by what one running sequence holds (the Gated DeltaNet state, constant, plus the KV cache
  of its 8 full-attention layers, in whole vLLM blocks);
- **max-num-seqs**: vLLM never runs more sequences than that at once;
- **compute**: GPU seconds per token, interpolated between two saturated published runs
  by the workload's share of output tokens (never extrapolated past them).

A resident sequence holds its slot for a call's latency (its prompt at the calibrated rate,
then each output token at the loaded TPOT), so ``slots / latency`` is what memory or
max-num-seqs allows; the lowest of the three binds. Every constant below says where it
comes from (docs/sizing.md explains the model with a worked example).
"""

import math
from dataclasses import dataclass
from enum import StrEnum

from agent.errors import DeskhandError

GIB = 1024**3
GB = 1000**3


class CapacityError(DeskhandError):
    """The inputs are invalid, or the GPU cannot serve the model at all."""


@dataclass(frozen=True)
class Assumption:
    """One constant of the model, with its value, unit and source."""

    name: str
    value: float
    unit: str
    source: str


REFERENCE = "reference note qwen35-vllm.md"
GPUSTACK = "GPUStack performance lab, Qwen3.5-9B on H100 80GB, vLLM 0.17.1, baseline"
GPUSTACK_URL = "https://docs.gpustack.ai/latest/performance-lab/qwen3.5-9b/h100"

# Model architecture (reference §1, "Architecture", confidence M-H).
ATTENTION_LAYERS = 8
GDN_LAYERS = 24
KV_HEADS = 4
ATTENTION_HEAD_DIM = 256
GDN_VALUE_HEADS = 32
GDN_KEY_HEADS = 16
GDN_HEAD_DIM = 128
NATIVE_CONTEXT = 262_144
# vLLM's layout of the GDN state: the recurrent state in float32, the short-convolution
# state (kernel 4, so 3 positions kept) in the model's dtype. Not in the reference; checked
# against it: these sizes give the 528-token attention block it reports (vLLM #40696).
GDN_STATE_BYTES_PER_VALUE = 4
GDN_CONV_POSITIONS = 3
BF16_BYTES = 2
BLOCK_ALIGNMENT = 16  # vLLM rounds the hybrid attention block size to a multiple of 16

WEIGHT_BYTES = {"bf16": 19.3 * GB, "fp8": 11.0 * GB}

# Saturated published runs (reference §2 "Throughput"; token mixes from GPUStack's page).
SHAREGPT_TOTAL_TPS = 11_527.0
SHAREGPT_OUTPUT_SHARE = 281_412 / (342_058 + 281_412)
THROUGHPUT_TOTAL_TPS = 29_822.0
THROUGHPUT_OUTPUT_SHARE = 128 / (1024 + 128)
LOADED_TPOT_S = 0.0151


class Dtype(StrEnum):
    BF16 = "bf16"
    FP8 = "fp8"


class Limit(StrEnum):
    MEMORY = "memory"
    MAX_NUM_SEQS = "max-num-seqs"
    COMPUTE = "compute"


@dataclass(frozen=True)
class Server:
    """The GPU and the vLLM settings that matter for sizing."""

    gpu_mem_gib: float
    gpu_util: float = 0.9
    dtype: Dtype = Dtype.BF16
    max_num_seqs: int = 256
    overhead_gib: float = 2.0
    compute_scale: float = 1.0  # the GPU's throughput relative to an H100 80GB


@dataclass(frozen=True)
class Workload:
    """The traffic: per model call, and how calls make turns and turns make conversations."""

    prompt_tokens: int
    output_tokens: int
    turns_per_conversation: float
    calls_per_turn: float = 1.0
    reply_gap_s: float = 30.0  # the customer's time to read and answer between turns


@dataclass(frozen=True)
class Memory:
    """What one running sequence holds, and how many fit."""

    kv_budget_bytes: int
    block_tokens: int
    block_bytes: int  # one block across the 8 layers of a group (attention or GDN)
    gdn_state_bytes: int
    kv_bytes: int
    sequence_bytes: int
    sequences: int


@dataclass(frozen=True)
class Estimate:
    server: Server
    workload: Workload
    memory: Memory
    call_latency_s: float
    calls_per_s: dict[Limit, float]  # what each limit alone allows
    binding: Limit

    @property
    def model_calls_per_s(self) -> float:
        return self.calls_per_s[self.binding]

    @property
    def turns_per_s(self) -> float:
        return self.model_calls_per_s / self.workload.calls_per_turn

    @property
    def conversations_in_a_turn(self) -> float:
        """Conversations whose turn is on the GPU at once (Little's law)."""
        return self.model_calls_per_s * self.call_latency_s

    @property
    def open_conversations(self) -> float:
        """Conversations going on at once, counting the customer's time between turns."""
        turn_s = self.call_latency_s * self.workload.calls_per_turn + self.workload.reply_gap_s
        return self.turns_per_s * turn_s

    @property
    def conversations_per_hour(self) -> float:
        return self.turns_per_s * 3600 / self.workload.turns_per_conversation


def kv_bytes_per_token_per_layer() -> int:
    """K and V of one full-attention layer for one token: 2 x 4 heads x 256 x 2 B = 4 KiB."""
    return 2 * KV_HEADS * ATTENTION_HEAD_DIM * BF16_BYTES


def kv_bytes_per_token() -> int:
    """Across the 8 full-attention layers: 32 KiB (the reference's figure)."""
    return ATTENTION_LAYERS * kv_bytes_per_token_per_layer()


def gdn_layer_state_bytes() -> int:
    """One GDN layer's state for one sequence: recurrent (32 x 128 x 128 float32) plus the
    convolution's last positions over its q, k and v channels."""
    recurrent = GDN_VALUE_HEADS * GDN_HEAD_DIM * GDN_HEAD_DIM * GDN_STATE_BYTES_PER_VALUE
    conv_channels = 2 * GDN_KEY_HEADS * GDN_HEAD_DIM + GDN_VALUE_HEADS * GDN_HEAD_DIM
    return recurrent + conv_channels * GDN_CONV_POSITIONS * BF16_BYTES


def block_tokens() -> int:
    """vLLM sizes an attention block so that one layer's block holds one GDN layer state."""
    per_token = kv_bytes_per_token_per_layer()
    return BLOCK_ALIGNMENT * math.ceil(gdn_layer_state_bytes() / (BLOCK_ALIGNMENT * per_token))


def memory(server: Server, workload: Workload) -> Memory:
    """The KV-cache budget and how many sequences of the workload's length fit in it."""
    weights = WEIGHT_BYTES[server.dtype]
    usable = server.gpu_mem_gib * GIB * server.gpu_util
    if usable <= weights:
        raise CapacityError(
            f"the {server.dtype.value} weights ({weights / GB:.1f} GB) do not fit in "
            f"{server.gpu_mem_gib:g} GiB x --gpu-util {server.gpu_util:g} = "
            f"{usable / GB:.1f} GB: use a larger GPU or --dtype fp8"
        )
    budget = int(usable - weights - server.overhead_gib * GIB)
    tokens = workload.prompt_tokens + workload.output_tokens
    size = block_tokens()
    block = ATTENTION_LAYERS * size * kv_bytes_per_token_per_layer()
    gdn_blocks = GDN_LAYERS // ATTENTION_LAYERS  # one padded state block per group of 8
    kv = math.ceil(tokens / size) * block
    sequence = gdn_blocks * block + kv
    if budget < sequence:
        raise CapacityError(
            f"after the weights ({weights / GB:.1f} GB) and {server.overhead_gib:g} GiB of "
            f"overhead, {max(budget, 0) / GIB:.2f} GiB remain for the KV cache: not enough "
            f"for one sequence of {tokens} tokens ({sequence / GIB:.2f} GiB)"
        )
    return Memory(
        kv_budget_bytes=budget,
        block_tokens=size,
        block_bytes=block,
        gdn_state_bytes=gdn_blocks * block,
        kv_bytes=kv,
        sequence_bytes=sequence,
        sequences=budget // sequence,
    )


def seconds_per_token(output_share: float) -> float:
    """GPU seconds per token (prompt and output alike) at saturation, on an H100 80GB.

    Linear between the two saturated runs in the share of output tokens; clamped to the
    measured range: a workload outside it is costed like the nearest run."""
    low, high = THROUGHPUT_OUTPUT_SHARE, SHAREGPT_OUTPUT_SHARE
    at_low, at_high = 1 / THROUGHPUT_TOTAL_TPS, 1 / SHAREGPT_TOTAL_TPS
    share = min(max(output_share, low), high)
    return at_low + (at_high - at_low) * (share - low) / (high - low)


def estimate(server: Server, workload: Workload) -> Estimate:
    """Model calls per second each limit allows, and which one binds."""
    validate(server, workload)
    fits = memory(server, workload)
    tokens = workload.prompt_tokens + workload.output_tokens
    per_token_s = seconds_per_token(workload.output_tokens / tokens) / server.compute_scale
    latency = workload.prompt_tokens * per_token_s + (
        workload.output_tokens * LOADED_TPOT_S / server.compute_scale
    )
    calls = {
        Limit.MAX_NUM_SEQS: server.max_num_seqs / latency,
        Limit.MEMORY: fits.sequences / latency,
        Limit.COMPUTE: 1 / (per_token_s * tokens),
    }
    binding = min(calls, key=lambda limit: calls[limit])  # ties: the order above
    return Estimate(server, workload, fits, latency, calls, binding)


def validate(server: Server, workload: Workload) -> None:
    """CapacityError naming the option when an input is out of range."""
    checks = [
        (server.gpu_mem_gib > 0, "--gpu-mem-gb must be greater than 0"),
        (0 < server.gpu_util <= 1, "--gpu-util must be in (0, 1]"),
        (server.max_num_seqs >= 1, "--max-num-seqs must be at least 1"),
        (server.overhead_gib >= 0, "--overhead-gb must not be negative"),
        (server.compute_scale > 0, "--compute-scale must be greater than 0"),
        (workload.prompt_tokens >= 1, "--avg-prompt-tokens must be at least 1"),
        (workload.output_tokens >= 1, "--avg-output-tokens must be at least 1"),
        (workload.turns_per_conversation >= 1, "--turns-per-conversation must be at least 1"),
        (workload.calls_per_turn >= 1, "--calls-per-turn must be at least 1"),
        (workload.reply_gap_s >= 0, "--reply-gap-s must not be negative"),
        (
            workload.prompt_tokens + workload.output_tokens <= NATIVE_CONTEXT,
            f"a call of {workload.prompt_tokens + workload.output_tokens} tokens exceeds "
            f"the model's native context of {NATIVE_CONTEXT} tokens",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise CapacityError(message)


def assumptions(server: Server) -> list[Assumption]:
    """Every constant the estimate uses, with its source."""
    weights = WEIGHT_BYTES[server.dtype]
    weight_source = (
        f"{REFERENCE} §Memory: BF16 repo 19.3 GB, vision encoder included (H)"
        if server.dtype is Dtype.BF16
        else f"{REFERENCE} §Memory: FP8 weights ~10-11 GB, an estimate (L); upper end taken"
    )
    return [
        Assumption("weights", weights / GB, "GB", weight_source),
        Assumption(
            "overhead",
            server.overhead_gib,
            "GiB",
            "assumption (L): activations, CUDA graphs, CUDA context; vLLM logs the real "
            "KV-cache size at start-up (--overhead-gb)",
        ),
        Assumption(
            "kv_cache_per_token",
            kv_bytes_per_token(),
            "bytes",
            f"{REFERENCE} §Memory: 8 attention layers x 2 (K,V) x 4 KV heads x 256 x 2 B (M)",
        ),
        Assumption(
            "gdn_layer_state",
            gdn_layer_state_bytes(),
            "bytes",
            f"{REFERENCE} §1 (24 GDN layers, 32 V / 16 QK heads, dim 128); float32 "
            "recurrent state and a kernel-4 convolution as vLLM keeps them (L)",
        ),
        Assumption(
            "block_tokens",
            block_tokens(),
            "tokens",
            f"derived: the block holding one GDN layer state; {REFERENCE} §Memory reports "
            "528 (vLLM #40696)",
        ),
        Assumption(
            "throughput_profile_total_tps",
            THROUGHPUT_TOTAL_TPS,
            "tokens/s",
            f"{REFERENCE} §Throughput; {GPUSTACK}: random 1024 in / 128 out at 1000 req/s "
            f"(the mix from {GPUSTACK_URL})",
        ),
        Assumption(
            "sharegpt_profile_total_tps",
            SHAREGPT_TOTAL_TPS,
            "tokens/s",
            f"{REFERENCE} §Throughput; {GPUSTACK}: 1000 requests, 342,058 in / 281,412 out "
            f"at 1000 req/s (the mix from {GPUSTACK_URL})",
        ),
        Assumption(
            "loaded_tpot",
            LOADED_TPOT_S * 1000,
            "ms",
            f"{REFERENCE} §Throughput: ShareGPT TPOT 15.1 ms, up to 512 running sequences",
        ),
        Assumption(
            "compute_scale",
            server.compute_scale,
            "x H100 80GB",
            "input (--compute-scale): the calibration GPU is an H100 80GB",
        ),
    ]
