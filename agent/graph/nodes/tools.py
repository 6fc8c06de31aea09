"""tools: run the calls the model asked for, as the verified customer, never as the model says.

A call its approval rule holds back is not run: the turn goes to the approval node, which
pauses it until a person decides. The model's own ``escalate_to_human`` tool hands the
conversation to a person. A tool that fails for a system reason escalates too.
"""

from collections.abc import Sequence
from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.deps import GraphDeps
from agent.graph.rules import escalation
from agent.graph.state import EscalationReason, TraceEvent, TurnState
from agent.llm.types import ChatMessage, ToolCall, ToolSpec
from tools.approval import ApprovalRequest
from tools.context import ToolContext
from tools.errors import ToolExecutionError

ESCALATE_TOOL = ToolSpec(
    "escalate_to_human",
    "Hand the conversation to a person when you cannot help, the customer is upset, or "
    "the request needs a human decision. Say why.",
    {
        "type": "object",
        "properties": {"reason": {"type": "string", "description": "Why, in one sentence."}},
        "required": ["reason"],
    },
)
SKIPPED = "Not run: an earlier action in this turn is waiting for a person's approval."


def make_tools(deps: GraphDeps) -> Any:
    async def run_tools(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        registry = deps.tools.get(state["tenant"])
        exchange = list(state["exchange"])
        calls = exchange[-1].tool_calls
        context = ToolContext(state["tenant"], state["conversation_key"], state.get("customer"))
        results: list[dict[str, Any]] = []
        for index, call in enumerate(calls):
            if call.name == ESCALATE_TOOL.name:
                reason = str(call.arguments.get("reason") or "the assistant asked for a person")
                found = escalation(bot, EscalationReason.MODEL_REQUEST, reason)
                return {"escalation": found, "trace": [TraceEvent("tools", {"escalate": reason})]}
            try:
                outcome = await registry.invoke(call.name, call.arguments, context)
            except ToolExecutionError as error:
                return failed(bot, call.name, str(error), call.arguments)
            if outcome.approval is not None:
                made = state.get("tool_calls_made", 0) + index + 1
                return _held(outcome.approval, call, calls[index + 1 :], exchange, results, made)
            exchange.append(
                ChatMessage(role="tool", tool_call_id=call.id, content=outcome.to_model_text())
            )
            results.append(_result(call, outcome.ok, outcome.to_model_text()))
        return {
            "exchange": exchange,
            "tool_calls_made": state.get("tool_calls_made", 0) + len(calls),
            "trace": [TraceEvent("tools", {"calls": results})],
        }

    return run_tools


def after_tools(state: TurnState) -> str:
    if state.get("escalation") is not None:
        return "escalate"
    return "approval" if state.get("pending_approval") is not None else "agent"


def failed(
    bot: BotConfig, tool: str, message: str, arguments: dict[str, Any] | None = None
) -> dict[str, Any]:
    detail = f"the {tool} tool failed: {message}"
    found = escalation(bot, EscalationReason.TOOL_FAILURE, detail)
    event = {"failed": tool, "error": message, "arguments": arguments}
    return {"escalation": found, "trace": [TraceEvent("tools", event)]}


def _held(
    request: ApprovalRequest,
    call: ToolCall,
    later: Sequence[ToolCall],
    exchange: list[ChatMessage],
    results: list[dict[str, Any]],
    made: int,
) -> dict[str, Any]:
    """Stop at the held call; calls after it are answered 'not run' so the model can retry."""
    exchange += [ChatMessage(role="tool", tool_call_id=c.id, content=SKIPPED) for c in later]
    detail = {
        "calls": results,
        "approval_required": request.tool,
        "arguments": call.arguments,
        "reason": request.reason,
    }
    return {
        "exchange": exchange,
        "pending_approval": request,
        "pending_call_id": call.id,
        "tool_calls_made": made,
        "trace": [TraceEvent("tools", detail)],
    }


def _result(call: ToolCall, ok: bool, text: str) -> dict[str, Any]:
    return {"tool": call.name, "ok": ok, "arguments": call.arguments, "result": text[:500]}
