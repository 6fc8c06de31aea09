"""Turn a ScriptedResponse into what vLLM would send: a completion, or stream chunks."""

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from agent.llm.stub.script import ScriptedResponse, ScriptedToolCall

_PIECES = re.compile(r"\s*\S+\s*|\s+")


@dataclass(frozen=True)
class Envelope:
    """The fields every completion and chunk of one answer share."""

    id: str
    created: int
    model: str


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def render_message(response: ScriptedResponse) -> dict[str, Any]:
    """The assistant message, with the quirks applied (think tags, XML calls, ...)."""
    content, calls = _content_and_calls(response)
    message: dict[str, Any] = {"role": "assistant"}
    reasoning, where = response.reasoning, response.quirks.reasoning_as
    if reasoning and where == "think_tags":
        content = f"<think>\n{reasoning}\n</think>\n\n{content}"
    elif reasoning:
        message[where] = reasoning
    message["content"] = None if calls and not content else content
    message["tool_calls"] = [_wire_call(call) for call in calls]
    return message


def xml_tool_call(call: ScriptedToolCall) -> str:
    """A call as Qwen3.5 writes it (Qwen3-Coder XML); raw-string arguments as Hermes JSON."""
    if isinstance(call.arguments, str):
        return (
            f'<tool_call>\n{{"name": "{call.name}", "arguments": {call.arguments}}}\n</tool_call>'
        )
    lines = ["<tool_call>", f"<function={call.name}>"]
    for key, value in call.arguments.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines += [f"<parameter={key}>", text, "</parameter>"]
    return "\n".join([*lines, "</function>", "</tool_call>"])


def completion_body(
    response: ScriptedResponse, envelope: Envelope, usage: dict[str, int]
) -> dict[str, Any]:
    """A non-streaming ``chat.completion``."""
    return {
        "id": envelope.id,
        "object": "chat.completion",
        "created": envelope.created,
        "model": envelope.model,
        "choices": [
            {
                "index": 0,
                "message": render_message(response),
                "finish_reason": response.resolved_finish_reason(),
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def stream_chunks(
    response: ScriptedResponse, envelope: Envelope, usage: dict[str, int] | None
) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a stream, before ``[DONE]``."""
    message = render_message(response)
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    for field in ("reasoning", "reasoning_content"):
        deltas += [{field: piece} for piece in _pieces(message.get(field))]
    deltas += [{"content": piece} for piece in _pieces(message.get("content"))]
    for index, call in enumerate(message["tool_calls"]):
        deltas += _tool_call_deltas(index, call)
    chunks = [_chunk(envelope, delta, None) for delta in deltas]
    chunks.append(_chunk(envelope, {}, response.resolved_finish_reason()))
    if usage is not None:
        chunks.append({**_envelope_fields(envelope), "choices": [], "usage": usage})
    return chunks


def word_usage(body: dict[str, Any], response: ScriptedResponse) -> dict[str, int]:
    """Token counts approximated by word counts."""
    prompt = sum(
        _words(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)
    )
    completion = _words(response.content) + _words(response.reasoning)
    completion += sum(_words(call.arguments_json()) + 1 for call in response.tool_calls)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _content_and_calls(response: ScriptedResponse) -> tuple[str, list[ScriptedToolCall]]:
    calls = list(response.tool_calls)
    content = response.content
    if response.quirks.xml_tool_calls and calls:
        markup = "\n".join(xml_tool_call(call) for call in calls)
        content = f"{content}\n\n{markup}" if content else markup
        calls = []
    if response.quirks.empty_tool_calls_finish:
        calls = []
    return content, calls


def _wire_call(call: ScriptedToolCall) -> dict[str, Any]:
    return {
        "id": new_call_id(),
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _tool_call_deltas(index: int, call: dict[str, Any]) -> list[dict[str, Any]]:
    head = {
        "index": index,
        "id": call["id"],
        "type": "function",
        "function": {"name": call["function"]["name"], "arguments": ""},
    }
    arguments: str = call["function"]["arguments"]
    third = max(1, len(arguments) // 3)
    fragments = [arguments[i : i + third] for i in range(0, len(arguments), third)]
    tail = [{"index": index, "function": {"arguments": part}} for part in fragments]
    return [{"tool_calls": [item]} for item in [head, *tail]]


def _chunk(envelope: Envelope, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return {**_envelope_fields(envelope), "choices": [choice]}


def _envelope_fields(envelope: Envelope) -> dict[str, Any]:
    return {
        "id": envelope.id,
        "object": "chat.completion.chunk",
        "created": envelope.created,
        "model": envelope.model,
    }


def _pieces(text: Any) -> list[str]:
    return _PIECES.findall(text) if isinstance(text, str) and text else []


def _words(text: Any) -> int:
    return len(text.split()) if isinstance(text, str) else 0
