"""degraded: answer without the model — a deterministic intent, a confident article, or
a person.

In order: (a) a deterministic intent of the bot file the message matches (one read-only
tool call as the customer, a templated reply; ``agent.graph.intents``); (b) the best
passage quoted, when retrieval's confidence reaches ``retrieval.min_score`` (calibrated
with ``deskhand bench quote``, see docs/degraded.md); (c) an escalation. An explicit
request for a person never gets here: the understand node hands it over first, with no
model either.
"""

from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.citations import citation
from agent.graph.deps import GraphDeps
from agent.graph.intents import IntentMatch, IntentOutcome, match_intent, run_intent
from agent.graph.replies import quoted_answer, shorten
from agent.graph.state import (
    Escalation,
    EscalationReason,
    Priority,
    Reply,
    TraceEvent,
    TurnState,
)
from tools.context import ToolContext

NO_MODEL = "no model endpoint is configured"
INTENT_ALWAYS = "a deterministic intent answers this message"


def make_degraded(deps: GraphDeps) -> Any:
    async def degraded(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        model_available = deps.llm is not None and not state.get("degraded_reason")
        reason = state.get("degraded_reason") or (INTENT_ALWAYS if model_available else NO_MODEL)
        match = match_intent(
            state["message"],
            bot,
            model_available=model_available,
            languages=_languages(state),
        )
        if match is not None:
            return await _intent(deps, state, bot, match, reason)
        return _quote_or_escalate(state, bot, reason)

    return degraded


async def _intent(
    deps: GraphDeps, state: TurnState, bot: BotConfig, match: IntentMatch, reason: str
) -> dict[str, Any]:
    registry = deps.tools.get(state["tenant"])
    context = ToolContext(state["tenant"], state["conversation_key"], state.get("customer"))
    outcome = await run_intent(match, registry, context)
    trace = [TraceEvent("degraded", {"reason": reason, **outcome.detail})]
    if outcome.text is not None:
        reply = Reply(text=shorten(outcome.text, bot.max_reply_chars), degraded=True)
        return {"reply": reply, "trace": trace}
    return {"escalation": _intent_escalation(outcome, reason), "trace": trace}


def _intent_escalation(outcome: IntentOutcome, reason: str) -> Escalation:
    if outcome.tool_failed:
        return Escalation(
            reason=EscalationReason.TOOL_FAILURE,
            priority=Priority.HIGH,
            detail=f"{reason}; intent {outcome.intent}: {outcome.escalation}",
        )
    return Escalation(
        reason=EscalationReason.MODEL_UNAVAILABLE,
        priority=Priority.NORMAL,
        detail=f"{reason}; intent {outcome.intent}: {outcome.escalation}",
    )


def _quote_or_escalate(state: TurnState, bot: BotConfig, reason: str) -> dict[str, Any]:
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


def _languages(state: TurnState) -> list[str | None]:
    """The languages to try intents in first: the guard's reading, the customer's locale."""
    signals = state.get("signals")
    customer = state.get("customer")
    detected = signals.language if signals is not None else None
    return [detected, customer.locale if customer is not None else None]
