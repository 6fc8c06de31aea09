"""The model client's vocabulary: messages, tool specs, tool calls and results."""

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]

# When the model's arguments for a call are not a JSON object, the call still comes back as a
# ToolCall whose arguments are ``{RAW_ARGUMENTS_KEY: "<what the model wrote>"}``, so the
# validator can report it and the history stays replayable as valid JSON.
RAW_ARGUMENTS_KEY = "__raw__"


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it: a name, what it does and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for. ``arguments`` is always a parsed JSON object."""

    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def raw_arguments(self) -> str | None:
        """What the model wrote when its arguments were not a JSON object, else None."""
        raw = self.arguments.get(RAW_ARGUMENTS_KEY)
        if len(self.arguments) == 1 and isinstance(raw, str):
            return raw
        return None

    def to_openai(self) -> dict[str, Any]:
        # vLLM answers 400 when an assistant message carries arguments that are not a
        # valid JSON string, so they are always serialised here, never passed through.
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments)},
        }


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    reasoning: str | None = None

    def to_openai(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        if self.reasoning:
            # vLLM reads prior thinking from ``reasoning`` and drops ``reasoning_content``.
            message["reasoning"] = self.reasoning
        return message


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ChatOptions:
    """Per-request sampling and thinking choices.

    ``enable_thinking`` None means: False when the request carries tools, the
    server's default otherwise. It is always sent explicitly when it is decided.
    ``routing_key`` (the conversation key) is sent, hashed, in the client's routing header
    so that a conversation's requests reach the same model replica; never in the body.
    """

    enable_thinking: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None
    model: str | None = None
    routing_key: str | None = None


@dataclass(frozen=True)
class ChatResult:
    """A completed answer. ``content`` is clean: no ``<think>`` and no tool-call markup."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str | None = None
    model: str = ""
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    attempts: int = 1
    tool_calls_recovered_from_content: bool = False

    def as_message(self) -> ChatMessage:
        """The assistant message to append to the history for the next request."""
        return ChatMessage(
            role="assistant",
            content=self.content or None,
            tool_calls=self.tool_calls,
            reasoning=self.reasoning,
        )
