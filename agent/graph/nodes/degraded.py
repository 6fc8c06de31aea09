"""degraded: the model is unreachable; quote a confident article, otherwise escalate."""

from typing import Any

from agent.graph.citations import citation
from agent.graph.deps import GraphDeps
from agent.graph.nodes.respond import shorten
from agent.graph.state import (
    Escalation,
    EscalationReason,
    Priority,
    Reply,
    TraceEvent,
    TurnState,
)
from knowledge.types import Passage

NO_MODEL = "no model endpoint is configured"


def quoted_answer(passage: Passage, limit: int) -> str:
    paragraphs = [" ".join(p.split()) for p in passage.text.strip().split("\n\n") if p.strip()]
    quote = "\n>\n".join(f"> {paragraph}" for paragraph in paragraphs)
    source = f"{passage.title} — {passage.url}" if passage.url else passage.title
    intro = "Here is what our help center says about this:"
    return shorten(f"{intro}\n\n{quote}\n\nSource: {source}", limit)


def make_degraded(deps: GraphDeps) -> Any:
    async def degraded(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        reason = state.get("degraded_reason") or NO_MODEL
        passages = state.get("passages", [])
        best = passages[0] if passages else None
        confidence = state.get("retrieval_confidence", 0.0)
        if best is not None and confidence >= bot.retrieval.min_score:
            reply = Reply(
                text=quoted_answer(best, bot.max_reply_chars),
                citations=(citation(best),),
                grounded_in_kb=True,
                degraded=True,
            )
            detail = {"reason": reason, "quoted": best.source, "confidence": round(confidence, 4)}
            return {"reply": reply, "trace": [TraceEvent("degraded", detail)]}
        escalation = Escalation(
            reason=EscalationReason.MODEL_UNAVAILABLE,
            priority=Priority.NORMAL,
            detail=f"{reason}; no knowledge-base passage was confident enough to quote",
        )
        detail = {"reason": reason, "quoted": None}
        return {"escalation": escalation, "trace": [TraceEvent("degraded", detail)]}

    return degraded
