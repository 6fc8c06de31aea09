"""tools: run the calls the model asked for, as the verified customer, never as the model says.

A call the tool's approval rule holds back is not run. Until the approval node exists
(the graph will pause with ``interrupt()`` there), the conversation is escalated with the
request, so a person decides and acts.
"""

from typing import Any

from agent.graph.deps import GraphDeps
from agent.graph.state import Escalation, EscalationReason, Priority, TraceEvent, TurnState
from agent.llm.types import ChatMessage
from tools.approval import ApprovalRequest
from tools.context import ToolContext
from tools.errors import ToolExecutionError


def make_tools(deps: GraphDeps) -> Any:
    async def run_tools(state: TurnState) -> dict[str, Any]:
        registry = deps.tools.get(state["tenant"])
        exchange = list(state["exchange"])
        calls = exchange[-1].tool_calls
        context = ToolContext(state["tenant"], state["conversation_key"], state.get("customer"))
        results = []
        for call in calls:
            try:
                outcome = await registry.invoke(call.name, call.arguments, context)
            except ToolExecutionError as error:
                return _failed(call.name, str(error))
            if outcome.approval is not None:
                return _needs_approval(outcome.approval)
            exchange.append(
                ChatMessage(role="tool", tool_call_id=call.id, content=outcome.to_model_text())
            )
            results.append({"tool": call.name, "ok": outcome.ok, "arguments": call.arguments})
        return {
            "exchange": exchange,
            "tool_calls_made": state.get("tool_calls_made", 0) + len(calls),
            "trace": [TraceEvent("tools", {"calls": results})],
        }

    return run_tools


def _failed(tool: str, message: str) -> dict[str, Any]:
    escalation = Escalation(
        reason=EscalationReason.TOOL_FAILURE,
        priority=Priority.HIGH,
        detail=f"the {tool} tool failed: {message}",
    )
    return {
        "escalation": escalation,
        "trace": [TraceEvent("tools", {"failed": tool, "error": message})],
    }


def _needs_approval(request: ApprovalRequest) -> dict[str, Any]:
    escalation = Escalation(
        reason=EscalationReason.APPROVAL_REQUIRED,
        priority=Priority.NORMAL,
        detail=f"{request.tool} needs a person's approval: {request.reason}",
    )
    detail = {"approval_required": request.tool, "reason": request.reason}
    return {
        "escalation": escalation,
        "pending_approval": request,
        "trace": [TraceEvent("tools", detail)],
    }
