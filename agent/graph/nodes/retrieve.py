"""retrieve: the tenant's knowledge-base passages for this turn, and how confident they are.

The query is built from the conversation (the latest customer turns), not only the
newest message, so "and how long does that take?" still finds the right article. A weak
result after earlier turns the bot could not answer hands the conversation to a person.
"""

from typing import Any

from agent.graph.deps import GraphDeps
from agent.graph.rules import low_confidence
from agent.graph.state import Memory, TraceEvent, TurnState


def make_retrieve(deps: GraphDeps) -> Any:
    async def retrieve(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        result = await deps.retrieve(
            state["tenant"], state["message"], bot.retrieval.top_k, state.get("history", [])
        )
        detail = {
            "confidence": round(result.confidence, 4),
            "passages": [
                {"source": p.source, "title": p.title, "url": p.url, "score": round(p.score, 4)}
                for p in result.passages
            ],
        }
        update: dict[str, Any] = {
            "passages": result.passages,
            "retrieval_confidence": result.confidence,
            "trace": [TraceEvent("retrieve", detail)],
        }
        weak = low_confidence(bot, state.get("memory") or Memory(), result.confidence)
        if weak is not None:
            update["escalation"] = weak
        return update

    return retrieve
