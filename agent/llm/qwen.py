"""Qwen3.5 output that vLLM's parsers sometimes leave in ``content``: pure text functions.

- Tool calls as Qwen3-Coder XML (``<tool_call><function=NAME><parameter=ARG>…``) or as
  Hermes JSON (``<tool_call>{"name": …, "arguments": {…}}</tool_call>``), see vLLM issues
  #22975, #39056 and #42021.
- Thinking as ``<think>…</think>``, or a dangling ``</think>`` when the chat template opened
  the block in the prompt.
"""

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent.llm.types import RAW_ARGUMENTS_KEY, ToolCall, ToolSpec

_TOOL_CALL_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.S)
_FUNCTION_BLOCK = re.compile(
    r"<function=([^>\n]*)>(.*?)(?:</function>|(?=<function=)|(?=</tool_call>)|\Z)", re.S
)
_PARAMETER = re.compile(
    r"<parameter=([^>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|(?=</function>)|\Z)", re.S
)
_STRAY_TOOL_TAGS = re.compile(r"</?tool_call>|</function>|</parameter>")
_HERMES_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')
_THINK_BLOCK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.S)
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")

TOOL_MARKUP_HINTS = ("<tool_call>", "<function=")


def new_call_id() -> str:
    """An OpenAI-style tool-call id."""
    return f"call_{uuid.uuid4().hex[:24]}"


def has_tool_markup(text: str | None) -> bool:
    """Whether the text looks like it carries a tool call written as markup."""
    return text is not None and any(hint in text for hint in TOOL_MARKUP_HINTS)


def parse_xml_tool_calls(
    text: str,
    tools: Sequence[ToolSpec] = (),
    new_id: Callable[[], str] = new_call_id,
) -> tuple[list[ToolCall], str]:
    """Recover tool calls written as markup in ``text``; return them and the text without it.

    ``tools`` (optional) lets parameter values be typed by their schema, as vLLM's parser
    does: a value declared ``string`` stays a string even when it looks like a number.
    Without a schema, values that parse as JSON (numbers, booleans, null, objects, arrays)
    are decoded and the others kept as stripped strings. A call whose arguments cannot be
    read comes back with ``{"__raw__": text}`` so that a validator can report it.
    """
    schemas = {tool.name: tool.parameters for tool in tools}
    calls: list[ToolCall] = []

    def take_block(match: re.Match[str]) -> str:
        calls.extend(_calls_in_block(match.group(1), schemas, new_id))
        return ""

    def take_function(match: re.Match[str]) -> str:
        calls.append(_function_call(match.group(1), match.group(2), schemas, new_id))
        return ""

    remaining = _TOOL_CALL_BLOCK.sub(take_block, text)
    remaining = _FUNCTION_BLOCK.sub(take_function, remaining)
    if remaining == text:
        return [], text
    return calls, _tidy(_STRAY_TOOL_TAGS.sub("", remaining))


def strip_tool_markup(text: str) -> str:
    """The text without any tool-call markup (calls discarded), e.g. leftovers next to calls."""
    _, remaining = parse_xml_tool_calls(text)
    if not _STRAY_TOOL_TAGS.search(remaining):
        return remaining
    return _tidy(_STRAY_TOOL_TAGS.sub("", remaining))


def strip_reasoning_markup(text: str) -> tuple[str, str | None]:
    """Remove ``<think>…</think>`` (and a dangling ``…</think>`` prefix); return (text, reasoning).

    The text comes back unchanged when it holds no think markup. An unclosed ``<think>``
    (output cut by ``max_tokens``) swallows the rest of the text as reasoning.
    """
    if _THINK_OPEN not in text and _THINK_CLOSE not in text:
        return text, None
    reasoning: list[str] = []
    rest = text
    close_at, open_at = rest.find(_THINK_CLOSE), rest.find(_THINK_OPEN)
    if close_at != -1 and (open_at == -1 or close_at < open_at):
        reasoning.append(rest[:close_at])
        rest = rest[close_at + len(_THINK_CLOSE) :]

    def take(match: re.Match[str]) -> str:
        reasoning.append(match.group(1))
        return ""

    rest = _THINK_BLOCK.sub(take, rest).replace(_THINK_CLOSE, "")
    joined = "\n\n".join(part.strip() for part in reasoning if part.strip())
    return _tidy(rest), joined or None


def _calls_in_block(
    body: str, schemas: Mapping[str, dict[str, Any]], new_id: Callable[[], str]
) -> list[ToolCall]:
    stripped = body.strip()
    if not stripped:
        return []
    if stripped.startswith("{"):
        return [_hermes_call(stripped, new_id)]
    functions = list(_FUNCTION_BLOCK.finditer(body))
    if not functions:
        return [ToolCall(id=new_id(), name="", arguments={RAW_ARGUMENTS_KEY: stripped})]
    return [_function_call(m.group(1), m.group(2), schemas, new_id) for m in functions]


def _function_call(
    name: str, body: str, schemas: Mapping[str, dict[str, Any]], new_id: Callable[[], str]
) -> ToolCall:
    name = name.strip()
    properties = schemas.get(name, {}).get("properties", {})
    arguments: dict[str, Any] = {}
    for match in _PARAMETER.finditer(body):
        key = match.group(1).strip()
        arguments[key] = _decode_value(match.group(2), properties.get(key))
    return ToolCall(id=new_id(), name=name, arguments=arguments)


def _hermes_call(body: str, new_id: Callable[[], str]) -> ToolCall:
    try:
        data = json.loads(body)
    except ValueError:
        found = _HERMES_NAME.search(body)
        name = found.group(1) if found else ""
        return ToolCall(id=new_id(), name=name, arguments={RAW_ARGUMENTS_KEY: body})
    if not isinstance(data, dict):
        return ToolCall(id=new_id(), name="", arguments={RAW_ARGUMENTS_KEY: body})
    name = str(data.get("name") or "")
    raw_arguments = data.get("arguments", data.get("parameters", {}))
    return ToolCall(id=new_id(), name=name, arguments=arguments_from_wire(raw_arguments))


def arguments_from_wire(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict: a JSON-object string is decoded, anything else is raw."""
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw, parse_constant=_reject_constant)
        except ValueError:
            return {RAW_ARGUMENTS_KEY: raw}
        if isinstance(decoded, dict):
            return decoded
        return {RAW_ARGUMENTS_KEY: raw}
    return {RAW_ARGUMENTS_KEY: json.dumps(raw)}


def _decode_value(raw: str, schema: Any) -> Any:
    value = raw.strip()
    declared = _declared_types(schema)
    if declared and declared <= {"string"}:
        return value
    if "boolean" in declared and value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        decoded = json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value
    return value if isinstance(decoded, str) else decoded


def _declared_types(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    declared = schema.get("type")
    types: set[str] = set()
    if isinstance(declared, str):
        types.add(declared)
    elif isinstance(declared, list):
        types.update(t for t in declared if isinstance(t, str))
    for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        types |= _declared_types(branch)
    enum = schema.get("enum")
    if not types and isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
        types.add("string")
    return types if types == {"null"} else types - {"null"}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not a JSON value: {name}")


def _tidy(text: str) -> str:
    return _EXTRA_BLANK_LINES.sub("\n\n", text).strip()
