"""Assemble a streamed chat completion (Server-Sent Events) into one RawCompletion."""

import json
from dataclasses import dataclass
from typing import Any

from agent.llm.completion import RawCompletion, reasoning_of, usage_from_json
from agent.llm.qwen import arguments_from_wire, new_call_id
from agent.llm.retry import TransientFailure, error_text
from agent.llm.types import ToolCall


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""

    def add(self, delta: dict[str, Any]) -> None:
        self.id = self.id or str(delta.get("id") or "")
        function = delta.get("function") or {}
        name = function.get("name")
        # Some servers repeat the whole name on every chunk, others send fragments.
        if name and name != self.name:
            self.name += name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            self.arguments += arguments

    def to_call(self) -> ToolCall:
        return ToolCall(
            id=self.id or new_call_id(),
            name=self.name,
            arguments=arguments_from_wire(self.arguments),
        )


class StreamAssembler:
    """Feed it SSE lines; it keeps content, reasoning and tool calls (by index) apart."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _PartialCall] = {}
        self._raw = RawCompletion()
        self.done = False
        self.chunks = 0

    @property
    def complete(self) -> bool:
        """True once the server said it finished (``[DONE]`` or a finish reason)."""
        return self.done or self._raw.finish_reason is not None

    def feed_line(self, line: str) -> None:
        """One line of the event stream; comments, blank lines and other fields are skipped."""
        if not line.startswith("data:"):
            return
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            self.done = True
            return
        try:
            chunk = json.loads(payload)
        except ValueError:
            raise TransientFailure(f"stream chunk is not JSON: {payload[:100]!r}") from None
        self.feed(chunk)

    def feed(self, chunk: Any) -> None:
        """One decoded chunk (``chat.completion.chunk``)."""
        if not isinstance(chunk, dict):
            raise TransientFailure("stream chunk is not a JSON object")
        if "error" in chunk:
            raise TransientFailure(f"stream error: {error_text(json.dumps(chunk))}")
        self.chunks += 1
        self._raw.model = str(chunk.get("model") or self._raw.model)
        if chunk.get("usage"):
            self._raw.usage = usage_from_json(chunk["usage"])
        choices = chunk.get("choices") or []
        if choices and isinstance(choices[0], dict):
            self._feed_choice(choices[0])

    def completion(self) -> RawCompletion:
        self._raw.content = "".join(self._content)
        self._raw.reasoning = "".join(self._reasoning) or None
        self._raw.tool_calls = [self._calls[i].to_call() for i in sorted(self._calls)]
        return self._raw

    def _feed_choice(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta") or {}
        if isinstance(delta.get("content"), str):
            self._content.append(delta["content"])
        reasoning = reasoning_of(delta)
        if reasoning:
            self._reasoning.append(reasoning)
        for position, item in enumerate(delta.get("tool_calls") or []):
            if isinstance(item, dict):
                index = item.get("index", position)
                self._calls.setdefault(int(index), _PartialCall()).add(item)
        if choice.get("finish_reason"):
            self._raw.finish_reason = str(choice["finish_reason"])
