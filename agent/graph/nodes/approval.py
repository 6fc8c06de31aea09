"""approval: pause the turn on a sensitive action until a person decides.

The tools node held the call back (its approval rule fired). Here the graph pauses with
``interrupt()``; the checkpointer keeps the paused turn. When an operator decides, the
worker resumes it with ``Command(resume=decision)``: this node runs again from the top,
``interrupt()`` now returns the decision, and the call runs (once: the tool's idempotency
key is the same on every run) or the customer is told it was declined.
"""

from typing import Any

from langgraph.types import interrupt

from agent.config.localized import localized
from agent.graph.deps import GraphDeps
from agent.graph.nodes.tools import failed
from agent.graph.state import Reply, TraceEvent, TurnState, turn_language
from agent.llm.types import ChatMessage
from tools.context import ToolContext
from tools.errors import ToolExecutionError

APPROVED_WITHOUT_MODEL = "Good news: a member of our team approved your request and it is done."


def approval_request(state: TurnState) -> dict[str, Any]:
    """What the interrupt carries (and the approval record is made of)."""
    request = state.get("pending_approval")
    assert request is not None, "approval runs only after the tools node held a call back"
    return {
        "tool": request.tool,
        "arguments": request.arguments,
        "reason": request.reason,
        "idempotency_key": request.idempotency_key,
        "call_id": state.get("pending_call_id") or "",
    }


def make_approval(deps: GraphDeps) -> Any:
    async def approval(state: TurnState) -> dict[str, Any]:
        request = approval_request(state)
        decision = interrupt(request)  # resumes with {"approved": bool, "by": ..., "note": ...}
        if not decision.get("approved"):
            return _declined(deps, state, decision)
        return await _run_approved(deps, state, request, decision)

    return approval


def after_approval(state: TurnState) -> str:
    if state.get("escalation") is not None:
        return "escalate"
    return "end" if state.get("reply") is not None else "agent"


def _declined(deps: GraphDeps, state: TurnState, decision: dict[str, Any]) -> dict[str, Any]:
    bot = deps.tenants.get(state["tenant"])
    detail = {"approved": False, "by": decision.get("by"), "note": decision.get("note")}
    return {
        "reply": Reply(localized(bot.escalation.declined_message, turn_language(state))),
        "pending_approval": None,
        "trace": [TraceEvent("approval", detail)],
    }


async def _run_approved(
    deps: GraphDeps, state: TurnState, request: dict[str, Any], decision: dict[str, Any]
) -> dict[str, Any]:
    registry = deps.tools.get(state["tenant"])
    context = ToolContext(state["tenant"], state["conversation_key"], state.get("customer"))
    detail: dict[str, Any] = {
        "approved": True,
        "by": decision.get("by"),
        "tool": request["tool"],
        "arguments": request["arguments"],
    }
    try:
        outcome = await registry.invoke(
            request["tool"], request["arguments"], context, approved=True
        )
    except ToolExecutionError as error:
        bot = deps.tenants.get(state["tenant"])
        failure = failed(bot, request["tool"], str(error), request["arguments"])
        return failure | {"pending_approval": None}
    detail["ok"] = outcome.ok
    detail["result"] = outcome.to_model_text()[:500]
    result = ChatMessage(
        role="tool", tool_call_id=request["call_id"], content=outcome.to_model_text()
    )
    update: dict[str, Any] = {
        "exchange": [*state.get("exchange", []), result],
        "tool_calls_made": state.get("tool_calls_made", 0) + 1,
        "pending_approval": None,
        "trace": [TraceEvent("approval", detail)],
    }
    if deps.llm is None:
        update["reply"] = Reply(APPROVED_WITHOUT_MODEL, degraded=True)
    return update
