"""The JSON body of a chat-completions request, with the choices deskhand makes for Qwen3.5."""

from collections.abc import Sequence
from typing import Any

from agent.llm.types import ChatMessage, ChatOptions, ToolSpec

_SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "presence_penalty", "max_tokens")


def thinking_choice(options: ChatOptions, has_tools: bool) -> bool | None:
    """The ``enable_thinking`` value to send: the explicit option, else False with tools.

    Thinking is off for tool turns because Qwen3.5 on vLLM then sometimes writes the call
    inside its reasoning or as raw XML (vLLM #39056, #42021). None means: do not send it.
    """
    if options.enable_thinking is not None:
        return options.enable_thinking
    return False if has_tools else None


def build_request_body(
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    options: ChatOptions,
    *,
    default_model: str,
    stream: bool,
) -> dict[str, Any]:
    """Tools keep their order and come before nothing else variable, for prefix caching."""
    body: dict[str, Any] = {
        "model": options.model or default_model,
        "messages": [message.to_openai() for message in messages],
    }
    if tools:
        body["tools"] = [tool.to_openai() for tool in tools]
        body["tool_choice"] = "auto"  # "required" is ignored by the Qwen parsers (vLLM #54808)
    for name in _SAMPLING_FIELDS:
        value = getattr(options, name)
        if value is not None:
            body[name] = value
    thinking = thinking_choice(options, bool(tools))
    if thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": thinking}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body
