"""Each node's wall time, added to the trace events it emits (``ms``)."""

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from agent.graph.state import TraceEvent, TurnState

Node = Callable[[TurnState], Awaitable[dict[str, Any]]]


def timed(name: str, node: Node) -> Any:
    @functools.wraps(node)
    async def run(state: TurnState) -> dict[str, Any]:
        started = time.perf_counter()
        update = await node(state)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        events = update.get("trace")
        if events:
            update["trace"] = [_with_time(event, elapsed_ms) for event in events]
        return update

    run.__name__ = name
    return run


def _with_time(event: TraceEvent, elapsed_ms: float) -> TraceEvent:
    return replace(event, detail={**event.detail, "ms": elapsed_ms})
