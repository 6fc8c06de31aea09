"""Tool calls the caller can trust: validate, re-prompt once with the errors, else give up.

The Qwen parsers ignore ``tool_choice="required"`` and constrained decoding (vLLM #54808),
so nothing guarantees that arguments match the schema; the application checks them.
"""

from collections.abc import Callable, Sequence
from typing import Protocol

from agent.llm.errors import ToolArgumentsInvalid
from agent.llm.schema_check import schema_errors
from agent.llm.types import ChatMessage, ChatOptions, ChatResult, ToolCall, ToolSpec

Validator = Callable[[ToolCall], str | None]
"""Returns what is wrong with a call (a sentence for the model), or None when it is valid."""

_NOT_RUN_BECAUSE_OF_OTHERS = (
    "Not run: another tool call in the same turn had invalid arguments. "
    "If this call is still needed, make it again together with the corrected one."
)


class SupportsChat(Protocol):
    """What ``chat_with_valid_tool_calls`` needs from a client (ChatClient, or a fake)."""

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] = ...,
        options: ChatOptions = ...,
    ) -> ChatResult: ...


async def chat_with_valid_tool_calls(
    client: SupportsChat,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolSpec],
    validate: Validator,
    options: ChatOptions = ChatOptions(),  # noqa: B008 - frozen dataclass, safe default
) -> tuple[ChatResult, list[ChatMessage]]:
    """Chat; when a tool call is invalid, tell the model what is wrong and ask once more.

    Returns the final result and the messages added for the correction (the rejected
    assistant turn and one ``tool`` message per call; empty when the first answer was
    valid), so the caller can keep them in the history and the trace. Raises
    ToolArgumentsInvalid when the second answer is still invalid.
    """
    result = await client.chat(messages, tools, options)
    problems = invalid_tool_calls(result, tools, validate)
    if not problems:
        return result, []
    extra = corrective_messages(result, problems)
    retried = await client.chat([*messages, *extra], tools, options)
    still = invalid_tool_calls(retried, tools, validate)
    if still:
        names = {call.id: call.name for call in retried.tool_calls}
        summary = "; ".join(f"{names[cid] or '(no name)'}: {err}" for cid, err in still.items())
        raise ToolArgumentsInvalid(
            f"tool-call arguments still invalid after a corrective re-prompt: {summary}", still
        )
    return retried, extra


def invalid_tool_calls(
    result: ChatResult, tools: Sequence[ToolSpec], validate: Validator
) -> dict[str, str]:
    """Tool-call id → error, for each call that is unknown, unreadable or rejected."""
    known = [tool.name for tool in tools]
    problems: dict[str, str] = {}
    for call in result.tool_calls:
        error = _basic_error(call, known) or validate(call)
        if error:
            problems[call.id] = error
    return problems


def corrective_messages(result: ChatResult, problems: dict[str, str]) -> list[ChatMessage]:
    """The rejected assistant turn, then a ``tool`` answer for each of its calls."""
    replies = [result.as_message()]
    for call in result.tool_calls:
        error = problems.get(call.id)
        text = _correction(call, error) if error else _NOT_RUN_BECAUSE_OF_OTHERS
        replies.append(ChatMessage(role="tool", content=text, tool_call_id=call.id))
    return replies


def json_schema_validator(tools: Sequence[ToolSpec]) -> Validator:
    """A validator checking each call against its tool's ``parameters`` schema."""
    schemas = {tool.name: tool.parameters for tool in tools}

    def validate(call: ToolCall) -> str | None:
        error = _basic_error(call, list(schemas))
        if error:
            return error
        return "; ".join(schema_errors(call.arguments, schemas[call.name])) or None

    return validate


def _basic_error(call: ToolCall, known: list[str]) -> str | None:
    if call.name not in known:
        return f"there is no tool named {call.name!r}; the tools are: {', '.join(known)}"
    raw = call.raw_arguments
    if raw is not None:
        return f"the arguments are not a valid JSON object: {raw[:200]!r}"
    return None


def _correction(call: ToolCall, error: str) -> str:
    return (
        f"Error: the call to {call.name or '(no name)'} was not run: {error}. "
        f"Call the tool again with arguments that match its JSON schema."
    )
