"""escalate: hand the conversation to a person, with a summary written for them."""

from dataclasses import replace
from typing import Any

from agent.config.localized import localized
from agent.graph.deps import GraphDeps
from agent.graph.state import Reply, TraceEvent, TurnState, turn_language
from agent.graph.summary import handoff_summary


def make_escalate(deps: GraphDeps) -> Any:
    async def escalate(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        escalation = state["escalation"]
        assert escalation is not None, "escalate runs only after a node decided to escalate"
        escalation = replace(escalation, summary=handoff_summary(state, escalation))
        reply = Reply(text=localized(bot.escalation.holding_message, turn_language(state)))
        detail = {"reason": escalation.reason.value, "priority": escalation.priority.value}
        return {
            "escalation": escalation,
            "reply": reply,
            "trace": [TraceEvent("escalate", detail)],
        }

    return escalate
