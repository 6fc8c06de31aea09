"""deskhand capacity: how much traffic one GPU serving Qwen3.5-9B can carry."""

import json
from typing import Annotated, Any

import typer

from agent.capacity import GIB, CapacityError, Dtype, Estimate, Limit, Server, Workload
from agent.capacity import assumptions as list_assumptions
from agent.capacity import estimate as estimate_capacity
from agent.cli.common import console, fail


def capacity(
    gpu_mem_gb: Annotated[
        float, typer.Option("--gpu-mem-gb", help="The GPU's memory in GiB (80 for an H100).")
    ],
    avg_prompt_tokens: Annotated[
        int, typer.Option("--avg-prompt-tokens", help="Prompt tokens of one model call.")
    ],
    avg_output_tokens: Annotated[
        int, typer.Option("--avg-output-tokens", help="Output tokens of one model call.")
    ],
    turns_per_conversation: Annotated[
        float, typer.Option("--turns-per-conversation", help="Customer turns per conversation.")
    ],
    max_num_seqs: Annotated[
        int, typer.Option("--max-num-seqs", help="vLLM's --max-num-seqs.")
    ] = 256,
    dtype: Annotated[str, typer.Option("--dtype", help="Weights: bf16 or fp8.")] = "bf16",
    gpu_util: Annotated[
        float, typer.Option("--gpu-util", help="vLLM's --gpu-memory-utilization.")
    ] = 0.9,
    calls_per_turn: Annotated[
        float,
        typer.Option("--calls-per-turn", help="Model calls per turn (2 when a tool is used)."),
    ] = 1.0,
    reply_gap_s: Annotated[
        float,
        typer.Option("--reply-gap-s", help="Seconds a customer takes to answer a reply."),
    ] = 30.0,
    overhead_gb: Annotated[
        float,
        typer.Option("--overhead-gb", help="GiB vLLM uses besides weights and KV cache."),
    ] = 2.0,
    compute_scale: Annotated[
        float,
        typer.Option("--compute-scale", help="The GPU's throughput relative to an H100 80GB."),
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Estimate turns per second and concurrent conversations on one GPU.

    Every assumption is printed with its source, and the limit that binds is named
    (docs/sizing.md)."""
    if dtype not in {d.value for d in Dtype}:
        fail(f"--dtype must be bf16 or fp8, not {dtype!r}", code=2)
    server = Server(gpu_mem_gb, gpu_util, Dtype(dtype), max_num_seqs, overhead_gb, compute_scale)
    workload = Workload(
        avg_prompt_tokens, avg_output_tokens, turns_per_conversation, calls_per_turn, reply_gap_s
    )
    try:
        result = estimate_capacity(server, workload)
    except CapacityError as error:
        fail(str(error), code=2)
    if as_json:
        typer.echo(json.dumps(report(result), indent=2))
        return
    for line in describe(result):
        console.print(line, soft_wrap=True, highlight=False, markup=False)


def report(result: Estimate) -> dict[str, Any]:
    """The estimate as JSON: inputs, assumptions, memory, each limit and the result."""
    server, workload, memory = result.server, result.workload, result.memory
    return {
        "inputs": {
            "gpu_mem_gb": server.gpu_mem_gib,
            "gpu_util": server.gpu_util,
            "dtype": server.dtype.value,
            "max_num_seqs": server.max_num_seqs,
            "overhead_gb": server.overhead_gib,
            "compute_scale": server.compute_scale,
            "avg_prompt_tokens": workload.prompt_tokens,
            "avg_output_tokens": workload.output_tokens,
            "turns_per_conversation": workload.turns_per_conversation,
            "calls_per_turn": workload.calls_per_turn,
            "reply_gap_s": workload.reply_gap_s,
        },
        "assumptions": [
            {"name": a.name, "value": a.value, "unit": a.unit, "source": a.source}
            for a in list_assumptions(server)
        ],
        "memory": {
            "kv_budget_bytes": memory.kv_budget_bytes,
            "block_tokens": memory.block_tokens,
            "gdn_state_bytes_per_sequence": memory.gdn_state_bytes,
            "kv_bytes_per_sequence": memory.kv_bytes,
            "bytes_per_sequence": memory.sequence_bytes,
            "sequences": memory.sequences,
        },
        "limits": {
            limit.value: {
                "model_calls_per_s": calls,
                "turns_per_s": calls / workload.calls_per_turn,
            }
            for limit, calls in result.calls_per_s.items()
        },
        "result": {
            "binding_limit": result.binding.value,
            "model_call_latency_s": result.call_latency_s,
            "model_calls_per_s": result.model_calls_per_s,
            "turns_per_s": result.turns_per_s,
            "conversations_in_a_turn": result.conversations_in_a_turn,
            "open_conversations": result.open_conversations,
            "conversations_per_hour": result.conversations_per_hour,
        },
    }


def describe(result: Estimate) -> list[str]:
    """The assumptions, then the result, for a person."""
    memory, workload = result.memory, result.workload
    lines = ["Assumptions (Qwen3.5-9B on vLLM, one GPU):"]
    lines += [
        f"  {a.name} = {_number(a.value)} {a.unit}  [{a.source}]"
        for a in list_assumptions(result.server)
    ]
    lines += [
        "",
        f"KV-cache budget: {memory.kv_budget_bytes / GIB:.2f} GiB; one sequence of "
        f"{workload.prompt_tokens + workload.output_tokens} tokens holds "
        f"{memory.sequence_bytes / GIB:.3f} GiB (GDN state {memory.gdn_state_bytes / GIB:.3f} + "
        f"KV {memory.kv_bytes / GIB:.3f}, blocks of {memory.block_tokens} tokens): "
        f"{memory.sequences} sequences fit",
        f"One model call holds its sequence about {result.call_latency_s:.2f} s",
        "Turns per second each limit allows:",
    ]
    for limit in (Limit.MEMORY, Limit.MAX_NUM_SEQS, Limit.COMPUTE):
        mark = "  <- binding" if limit is result.binding else ""
        lines.append(
            f"  {limit.value:<13} {result.calls_per_s[limit] / workload.calls_per_turn:10.2f}{mark}"
        )
    lines += [
        "",
        f"Result: {result.turns_per_s:.2f} turns/s per GPU, limited by {result.binding.value}",
        f"  {result.conversations_in_a_turn:.0f} conversations in a turn at once, "
        f"{result.open_conversations:.0f} open conversations "
        f"(customers answering within {workload.reply_gap_s:g} s)",
        f"  {result.conversations_per_hour:,.0f} conversations per hour "
        f"({workload.turns_per_conversation:g} turns each)",
    ]
    return lines


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) and abs(value) >= 1000 else f"{value:g}"
