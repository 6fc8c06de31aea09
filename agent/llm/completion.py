"""From a chat-completions response body to a clean ChatResult (Qwen3.5 quirks handled)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.llm.errors import ModelResponseInvalid
from agent.llm.qwen import (
    arguments_from_wire,
    has_tool_markup,
    new_call_id,
    parse_xml_tool_calls,
    strip_reasoning_markup,
    strip_tool_markup,
)
from agent.llm.types import ChatResult, ToolCall, ToolSpec, Usage


@dataclass
class RawCompletion:
    """What the server said, before the Qwen clean-up."""

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str = ""
    usage: Usage = field(default_factory=Usage)


def completion_from_json(data: Any) -> RawCompletion:
    """Read a non-streaming response body; ModelResponseInvalid when it is not one."""
    if not isinstance(data, dict):
        raise ModelResponseInvalid("chat completion is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ModelResponseInvalid("chat completion has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise ModelResponseInvalid("chat completion choice has no message")
    return RawCompletion(
        content=_text(message.get("content")),
        reasoning=reasoning_of(message),
        tool_calls=[tool_call_from_wire(item) for item in message.get("tool_calls") or []],
        finish_reason=choices[0].get("finish_reason"),
        model=str(data.get("model") or ""),
        usage=usage_from_json(data.get("usage")),
    )


def reasoning_of(message: dict[str, Any]) -> str | None:
    """``reasoning`` (current vLLM), falling back to ``reasoning_content`` (older servers)."""
    value = message.get("reasoning")
    if value is None:
        value = message.get("reasoning_content")
    return value if isinstance(value, str) and value else None


def tool_call_from_wire(item: Any) -> ToolCall:
    """One ``tool_calls`` entry; arguments that are not a JSON object are kept raw."""
    if not isinstance(item, dict) or not isinstance(item.get("function"), dict):
        raise ModelResponseInvalid(f"tool call entry has no function: {item!r:.200}")
    function = item["function"]
    return ToolCall(
        id=str(item.get("id") or new_call_id()),
        name=str(function.get("name") or ""),
        arguments=arguments_from_wire(function.get("arguments")),
    )


def usage_from_json(data: Any) -> Usage:
    if not isinstance(data, dict):
        return Usage()
    return Usage(
        prompt_tokens=_int(data.get("prompt_tokens")),
        completion_tokens=_int(data.get("completion_tokens")),
    )


def to_chat_result(
    raw: RawCompletion, tools: Sequence[ToolSpec], *, latency_s: float, attempts: int
) -> ChatResult:
    """Strip ``<think>``, recover tool calls left as markup, keep content clean.

    Calls are recovered from ``content`` when ``tool_calls`` is empty, and as a last resort
    from the reasoning (a call written inside ``<think>``, vLLM #39056). Either way the
    result says ``tool_calls_recovered_from_content``.
    """
    content, think = strip_reasoning_markup(raw.content)
    reasoning = _join(raw.reasoning, think)
    calls = list(raw.tool_calls)
    recovered = False
    if has_tool_markup(content):
        found, content = parse_xml_tool_calls(content, tools)
        if not calls and found:
            calls, recovered = found, True
    content = strip_tool_markup(content)
    if not calls and has_tool_markup(reasoning):
        found, rest = parse_xml_tool_calls(reasoning or "", tools)
        if found:
            calls, recovered, reasoning = found, True, rest or None
    return ChatResult(
        content=content.strip(),
        tool_calls=tuple(calls),
        reasoning=reasoning,
        finish_reason=raw.finish_reason,
        model=raw.model,
        usage=raw.usage,
        latency_s=latency_s,
        attempts=attempts,
        tool_calls_recovered_from_content=recovered,
    )


def _join(first: str | None, second: str | None) -> str | None:
    parts = [part.strip() for part in (first, second) if part and part.strip()]
    return "\n\n".join(parts) or None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: keep the text ones
        return "".join(str(p.get("text", "")) for p in value if isinstance(p, dict))
    raise ModelResponseInvalid(f"message content is neither text nor parts: {value!r:.200}")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
