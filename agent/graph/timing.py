"""Each node's wall time, added to the trace events it emits (``ms``) and observed in the
``deskhand_node_seconds`` histogram (a pause for approval or a failure counts too)."""

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from agent.graph.state import TraceEvent, TurnState
from agent.metrics import NODE_SECONDS

Node = Callable[[TurnState], Awaitable[dict[str, Any]]]


def timed(name: str, node: Node) -> Any:
    @functools.wraps(node)
    async def run(state: TurnState) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            update = await node(state)
        finally:
            elapsed_s = time.perf_counter() - started
            NODE_SECONDS.labels(node=name).observe(elapsed_s)
        elapsed_ms = round(elapsed_s * 1000, 2)
        events = update.get("trace")
        if events:
            update["trace"] = [_with_time(event, elapsed_ms) for event in events]
        return update

    run.__name__ = name
    return run


def _with_time(event: TraceEvent, elapsed_ms: float) -> TraceEvent:
    return replace(event, detail={**event.detail, "ms": elapsed_ms})
