"""agent: the model decides, with the tenant's tools, within the turn's tool-call budget."""

from collections.abc import Callable
from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.deps import GraphDeps
from agent.graph.nodes.tools import ESCALATE_TOOL
from agent.graph.prompts import AgentState, build_prompt
from agent.graph.state import TraceEvent
from agent.llm.client import ChatClient
from agent.llm.errors import LLMError
from agent.llm.tooling import chat_with_valid_tool_calls
from agent.llm.types import ChatOptions, ChatResult, ToolCall, ToolSpec
from tools.registry import ToolRegistry


def make_agent(deps: GraphDeps) -> Any:
    async def agent(state: AgentState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        registry = deps.tools.get(state["tenant"])
        llm = _require(deps.llm)
        tools = _tool_specs(registry, bot, state.get("tool_calls_made", 0))
        exchange = state.get("exchange", [])
        prompt = build_prompt(bot, state)  # see agent.graph.prompts for the layout
        messages = [*prompt.messages, *exchange]
        try:
            result, corrections = await chat_with_valid_tool_calls(
                llm,
                messages,
                tools,
                _validator(registry),
                _options(bot, bool(tools), state["conversation_key"]),
            )
        except LLMError as error:
            reason = f"{type(error).__name__}: {error}"
            return {"degraded_reason": reason, "trace": [_trace(error=reason)]}
        trace = _trace(result=result, corrected=bool(corrections))
        if result.tool_calls:
            return {"exchange": [*exchange, result.as_message()], "trace": [trace]}
        if not result.content.strip():
            reason = "the model returned an empty answer"
            return {"degraded_reason": reason, "trace": [_trace(error=reason)]}
        window = prompt.window_after(exchange)  # replayed verbatim by the next turns
        return {"draft": result.content, "trace": [trace], "prompt_window": window}

    return agent


def _require(llm: ChatClient | None) -> ChatClient:
    if llm is None:  # the graph routes around this node when no model is configured
        raise RuntimeError("agent node reached without a model client")
    return llm


def _validator(registry: ToolRegistry) -> Callable[[ToolCall], str | None]:
    def validate(call: ToolCall) -> str | None:
        if call.name == ESCALATE_TOOL.name:
            return None if isinstance(call.arguments.get("reason"), str) else "reason is required"
        return registry.validation_error(call.name, call.arguments)

    return validate


def _tool_specs(registry: ToolRegistry, bot: BotConfig, calls_made: int) -> list[ToolSpec]:
    """The enabled tools, or none once the budget is spent (forcing a final answer)."""
    if calls_made >= bot.model.max_tool_calls:
        return []
    specs = [ToolSpec(s.name, s.description, s.parameters) for s in registry.schemas(bot.tools)]
    return [*specs, ESCALATE_TOOL] if bot.escalation.model_may_escalate else specs


def _options(bot: BotConfig, with_tools: bool, conversation_key: str | None = None) -> ChatOptions:
    """The tenant's sampling and adapter (``model.name``: a LoRA served by name), and the
    conversation as routing key, so its turns reach the replica that caches its prefix."""
    model = bot.model
    thinking = (
        model.enable_thinking_with_tools if with_tools else model.enable_thinking_without_tools
    )
    return ChatOptions(
        enable_thinking=thinking,
        temperature=model.temperature,
        top_p=model.top_p,
        max_tokens=model.max_tokens,
        model=model.name,
        routing_key=conversation_key,
    )


def _trace(
    result: ChatResult | None = None, corrected: bool = False, error: str | None = None
) -> TraceEvent:
    if result is None:
        return TraceEvent("agent", {"error": error})
    return TraceEvent(
        "agent",
        {
            "model": result.model,
            "latency_s": round(result.latency_s, 3),
            "prompt_tokens": result.usage.prompt_tokens,
            "completion_tokens": result.usage.completion_tokens,
            "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in result.tool_calls],
            "recovered_from_content": result.tool_calls_recovered_from_content,
            "corrective_reprompt": corrected,
            "reasoning": result.reasoning,
        },
    )
