"""Routes the replay adds to the deskhand it starts (and to no other): the full transcript
with each turn's trace and the agent's memory, a person's ownership changes as a helpdesk
would send them, the conditions (a failing tool, a fresh circuit breaker), and the clock
the turn graph reads (moved forward to simulate a pause of days without waiting).

They live on 127.0.0.1 for the duration of a replay run only; deskhand itself never
serves them.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from agent.channels.accept import mode_message
from agent.channels.base import AGENT_REPLY, EventKind, InboundEvent
from agent.components import Components
from agent.graph import prompts
from agent.llm.circuit import CircuitBreaker
from agent.safety import detect_language
from tools.context import Customer, ToolContext
from tools.errors import ToolExecutionError
from tools.registry import ToolOutcome, ToolRegistry

PREFIX = "/_replay/v1"
Invoke = Callable[..., Awaitable[ToolOutcome]]


class ModeChange(BaseModel):
    tenant: str
    channel: str = "generic"
    conversation_id: str
    event_id: str
    mode: Literal["manual", "auto"]
    text: str = ""
    customer_id: str = ""


class Conditions(BaseModel):
    tool_fails: dict[str, list[str]] = Field(default_factory=dict, description="per tenant")


class Clock(BaseModel):
    offset_s: float = Field(ge=0, description="how far ahead of real time the graph's clock is")


class ReplayClock:
    """The clock the turn graph reads (today's date in the prompt's context block), ahead
    of real time by ``offset_s``: a step's ``pause_days`` moves it instead of waiting.
    Stored timestamps, leases and retries keep real time."""

    offset_s: float = 0.0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:
        return datetime.now(tz) + timedelta(seconds=cls.offset_s)


class _ShiftedDatetime(datetime):
    """``datetime`` for the prompt module: ``now()`` reads the replay's clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> "_ShiftedDatetime":
        moment = ReplayClock.now(tz)
        return cls.fromtimestamp(moment.timestamp(), tz)


def install(app: FastAPI) -> None:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    router.add_api_route("/conversations/{key:path}", _conversation, methods=["GET"])
    router.add_api_route("/mode", _mode, methods=["POST"])
    router.add_api_route("/conditions", _conditions, methods=["POST"])
    router.add_api_route("/clock", _clock, methods=["POST"])
    app.include_router(router)
    app.state.replay_tool_failures = {}
    ReplayClock.offset_s = 0.0
    setattr(prompts, "datetime", _ShiftedDatetime)  # noqa: B010 - the replay's process only


def _parts(request: Request) -> Components:
    parts: Components = request.app.state.components
    return parts


async def _conversation(key: str, request: Request) -> dict[str, Any]:
    parts = _parts(request)
    bot = parts.tenants.get(key.split(":", 1)[0])
    state, read = await parts.runtime.transcripts.read(key)
    entries = [entry.to_dict() for entry in read]  # a reply comes with the mode it set
    for entry in entries:
        if entry["author"] == "bot":
            entry["language"] = detect_language(entry["text"], tuple(bot.languages))
    snapshot = await parts.graph.aget_state({"configurable": {"thread_id": key}})
    memory = snapshot.values.get("memory") if snapshot is not None else None
    return {
        "mode": state.mode.value if state else "auto",
        "escalation_reason": state.escalation_reason if state else None,
        "entries": entries,
        "facts": dict(memory.facts) if memory is not None else {},
        "min_grounding": bot.escalation.min_grounding,
    }


async def _mode(change: ModeChange, request: Request) -> dict[str, Any]:
    """A person took the conversation, gave it back, or answered (as a helpdesk says it)."""
    parts = _parts(request)
    event = InboundEvent(
        kind=EventKind(change.mode),
        conversation_id=change.conversation_id,
        event_id=change.event_id,
        text=change.text,
        customer=Customer(change.customer_id),
        reason="replay operator step",
        cause=AGENT_REPLY if change.text else "",
    )
    message = mode_message(change.tenant, change.channel, event)
    settings = parts.settings
    result = await parts.runtime.intake.accept(
        f"replay:{change.event_id}", settings.dedupe_ttl_s, [message], 0.0
    )
    return {"queued": result.queued}


async def _conditions(conditions: Conditions, request: Request) -> dict[str, Any]:
    """Apply a step's conditions; the model's circuit breaker starts closed again."""
    parts = _parts(request)
    if parts.llm is not None:
        settings = parts.settings
        parts.llm.circuit = CircuitBreaker(
            settings.llm_circuit_failures, settings.llm_circuit_reset_s
        )
    failures: dict[str, set[str]] = request.app.state.replay_tool_failures
    failures.clear()
    for tenant, names in conditions.tool_fails.items():
        failures[tenant] = set(names)
        _wrap(parts.tools.get(tenant), tenant, failures)
    return {"ok": True}


async def _clock(clock: Clock) -> dict[str, Any]:
    """Set how far ahead of real time the graph's clock runs (0: real time)."""
    ReplayClock.offset_s = clock.offset_s
    return {"offset_s": ReplayClock.offset_s}


def _wrap(registry: ToolRegistry, tenant: str, failures: dict[str, set[str]]) -> None:
    """Once per registry: tools named in the conditions fail as a backend would."""
    if getattr(registry, "_replay_wrapped", False):
        return
    original: Invoke = registry.invoke

    async def invoke(
        name: str, arguments: dict[str, Any], context: ToolContext, *, approved: bool = False
    ) -> ToolOutcome:
        if name in failures.get(tenant, set()):
            raise ToolExecutionError(f"{name}: the backend failed (replay condition tool_fails)")
        return await original(name, arguments, context, approved=approved)

    registry.invoke = invoke  # type: ignore[method-assign]
    registry._replay_wrapped = True  # type: ignore[attr-defined]
