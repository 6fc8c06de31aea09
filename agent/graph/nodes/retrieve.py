"""retrieve: the tenant's knowledge-base passages for this turn."""

from typing import Any

from agent.graph.deps import GraphDeps
from agent.graph.state import TraceEvent, TurnState


def make_retrieve(deps: GraphDeps) -> Any:
    async def retrieve(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        passages = await deps.retrieve(state["tenant"], state["message"], bot.retrieval.top_k)
        detail = {
            "passages": [
                {"source": p.source, "title": p.title, "score": round(p.score, 4)} for p in passages
            ]
        }
        return {"passages": passages, "trace": [TraceEvent("retrieve", detail)]}

    return retrieve
