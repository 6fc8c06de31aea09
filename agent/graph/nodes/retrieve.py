"""retrieve: the tenant's knowledge-base passages for this turn, and how confident they are.

The query is built from the conversation (the latest customer turns), not only the
newest message, so "and how long does that take?" still finds the right article.
"""

from typing import Any

from agent.graph.deps import GraphDeps
from agent.graph.state import TraceEvent, TurnState


def make_retrieve(deps: GraphDeps) -> Any:
    async def retrieve(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        result = await deps.retrieve(
            state["tenant"], state["message"], bot.retrieval.top_k, state.get("history", [])
        )
        detail = {
            "confidence": round(result.confidence, 4),
            "passages": [
                {"source": p.source, "title": p.title, "score": round(p.score, 4)}
                for p in result.passages
            ],
        }
        return {
            "passages": result.passages,
            "retrieval_confidence": result.confidence,
            "trace": [TraceEvent("retrieve", detail)],
        }

    return retrieve
