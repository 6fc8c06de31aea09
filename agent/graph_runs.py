"""Running the turn graph for the runtime: a fresh turn, or a paused one resumed.

With ``every_step`` a turn checkpoints after every step, so a turn whose worker died is
continued by the next one from its last step (``unfinished`` names the messages it was
answering) rather than started over: a tool call that completed is not made again.
Without it, one checkpoint per turn (and one at a pause): a crashed turn is re-run from
its messages, which the outbox and the tools' idempotency keys make harmless.

A run that pauses (``interrupt()`` in the approval node) comes back with the pause's
payload; it becomes an ApprovalRecord naming the checkpoint to resume from. A decision
resumes that checkpoint with ``Command(resume=...)``, carrying the conversation's newest
memory along (turns may have happened while the approval waited).
"""

import asyncio
from dataclasses import replace
from typing import Any

from langgraph.types import Command

from agent.errors import DeskhandError
from agent.graph.state import TurnState, turn_language
from agent.outcome import TurnOutcome
from agent.runtime.models import ApprovalRecord, approval_id

Config = dict[str, Any]


class ResumeExpired(DeskhandError):
    """The paused checkpoint is gone (retention pruned it): nothing can resume."""


class GraphRunner:
    def __init__(self, graph: Any, timeout_s: float, every_step: bool = False) -> None:
        self._graph = graph
        self._timeout_s = timeout_s
        self._durability = "async" if every_step else "exit"

    async def run(
        self, turn: TurnState | None, conversation_key: str, customer_id: str
    ) -> TurnOutcome:
        """Run ``turn``, or with None continue the conversation's unfinished turn."""
        config: Config = {"configurable": {"thread_id": conversation_key}}
        result = await self._invoke(turn, config)
        return await self._outcome(result, conversation_key, customer_id)

    async def unfinished(self, conversation_key: str) -> tuple[str, ...]:
        """The message ids of the conversation's turn that stopped midway (its worker
        died), or () when the last turn ended or paused for an approval."""
        if self._graph.checkpointer is None:
            return ()
        state = await self._graph.aget_state({"configurable": {"thread_id": conversation_key}})
        if not state.next or any(task.interrupts for task in state.tasks):
            return ()
        return tuple(state.values.get("message_ids") or ())

    async def resume(self, record: ApprovalRecord, decision: dict[str, Any]) -> TurnOutcome:
        key = record.conversation_key
        paused: Config = {"configurable": {"thread_id": key, "checkpoint_id": record.checkpoint_id}}
        checkpointer = self._graph.checkpointer
        if checkpointer is None or await checkpointer.aget_tuple(paused) is None:
            raise ResumeExpired(f"the paused turn of approval {record.id} is no longer kept")
        latest = await self._graph.aget_state({"configurable": {"thread_id": key}})
        memory = latest.values.get("memory")
        command: Command[Any] = Command(
            resume=decision, update={"memory": memory} if memory else None
        )
        earlier = await self._graph.aget_state(paused)
        result = await self._invoke(command, paused)
        outcome = await self._outcome(result, key, record.customer_id)
        return replace(outcome, new_events_from=len(earlier.values.get("trace") or []))

    async def _invoke(self, graph_input: Any, config: Config) -> dict[str, Any]:
        # "async": a checkpoint per step, written while the next step runs; "exit": one.
        durable = {"durability": self._durability} if self._graph.checkpointer else {}
        run = self._graph.ainvoke(graph_input, config, **durable)
        result: dict[str, Any] = await asyncio.wait_for(run, self._timeout_s)
        return result

    async def _outcome(
        self, result: dict[str, Any], conversation_key: str, customer_id: str
    ) -> TurnOutcome:
        trace = result.get("trace", [])
        language = turn_language(result)  # type: ignore[arg-type]
        interrupts = result.get("__interrupt__") or []
        if not interrupts:
            reply, escalation = result.get("reply"), result.get("escalation")
            return TurnOutcome(reply, escalation, trace, language=language)
        record = await self._record(interrupts[0].value, conversation_key, customer_id)
        return TurnOutcome(None, None, trace, approval=record, language=language)

    async def _record(
        self, request: dict[str, Any], conversation_key: str, customer_id: str
    ) -> ApprovalRecord:
        state = await self._graph.aget_state({"configurable": {"thread_id": conversation_key}})
        return ApprovalRecord(
            id=approval_id(conversation_key, str(request["idempotency_key"])),
            conversation_key=conversation_key,
            tool=str(request["tool"]),
            arguments=dict(request["arguments"]),
            reason=str(request["reason"]),
            checkpoint_id=str(state.config["configurable"]["checkpoint_id"]),
            customer_id=customer_id,
        )
