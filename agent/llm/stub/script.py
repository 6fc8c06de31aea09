"""What the scripted model server answers: scripted responses, cassettes, and their files.

A responder is any callable ``(request body) -> ScriptedResponse``. ``Script`` answers from
a list in order; ``Cassette`` answers by the request's content (messages and tools).
Both raise ``ResponderError`` when they have nothing to say; the server turns it into 500.
"""

import contextlib
import copy
import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import ConfigError, DeskhandError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScriptedToolCall(_Model):
    """A tool call to emit. A string ``arguments`` is sent verbatim (to simulate bad JSON)."""

    name: str
    arguments: dict[str, Any] | str = Field(default_factory=dict)

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


class Quirks(_Model):
    """vLLM / Qwen3.5 behaviours to reproduce on demand; all off by default."""

    status: int | None = Field(default=None, ge=400, le=599, description="answer this error")
    error_message: str | None = None
    retry_after: float | None = Field(default=None, ge=0, description="Retry-After seconds")
    xml_tool_calls: bool = Field(
        default=False, description="tool calls as Qwen XML inside content, tool_calls empty"
    )
    reasoning_as: Literal["reasoning", "reasoning_content", "think_tags"] = "reasoning"
    latency_s: float | None = Field(default=None, ge=0, description="delay before answering")
    first_token_delay_s: float | None = Field(
        default=None, ge=0, description="streaming: delay before the first chunk"
    )
    drop_stream_after: int | None = Field(
        default=None, ge=0, description="end the stream after N chunks, without [DONE]"
    )
    empty_tool_calls_finish: bool = Field(
        default=False, description='finish_reason "tool_calls" with no tool calls'
    )


class ScriptedResponse(_Model):
    """One answer of the scripted model. ``repeat`` answers it that many times in a row."""

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    quirks: Quirks = Field(default_factory=Quirks)
    repeat: int = Field(default=1, ge=1)

    def resolved_finish_reason(self) -> str:
        """The explicit finish reason, else what vLLM would say for this answer."""
        if self.finish_reason:
            return self.finish_reason
        if self.quirks.empty_tool_calls_finish:
            return "tool_calls"
        if self.tool_calls and not self.quirks.xml_tool_calls:
            return "tool_calls"
        return "stop"


class Responder(Protocol):
    """Anything that answers a chat-completions request body with a ScriptedResponse."""

    def __call__(self, body: dict[str, Any]) -> ScriptedResponse: ...


class ResponderError(DeskhandError):
    """The responder has no answer for this request; the message goes into the 500 body."""


class ScriptFileError(ConfigError):
    """A script or cassette file cannot be read; the message names the file."""


class Script:
    """Answers requests with the scripted responses in order (``repeat`` expanded)."""

    def __init__(self, responses: Iterable[ScriptedResponse | dict[str, Any]]) -> None:
        self._queue: list[ScriptedResponse] = []
        for item in responses:
            response = ScriptedResponse.model_validate(item)
            self._queue.extend([response] * response.repeat)
        self._next = 0
        self._received = 0
        self._lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return len(self._queue) - self._next

    @property
    def received(self) -> int:
        """How many requests this script has been asked to answer."""
        return self._received

    def __call__(self, body: dict[str, Any]) -> ScriptedResponse:
        with self._lock:
            self._received += 1
            if self._next >= len(self._queue):
                raise ResponderError(
                    f"scripted model: no response left (received {self._received} requests)"
                )
            response = self._queue[self._next]
            self._next += 1
            return response


class CassetteEntry(_Model):
    key: str
    response: ScriptedResponse


class CassetteFile(_Model):
    entries: list[CassetteEntry] = Field(default_factory=list)


class Cassette:
    """Answers by ``request_key(body)``: the same conversation always gets the same answer."""

    def __init__(self, entries: Iterable[CassetteEntry | dict[str, Any]] = ()) -> None:
        self._entries: dict[str, ScriptedResponse] = {}
        for item in entries:
            entry = CassetteEntry.model_validate(item)
            self._entries[entry.key] = entry.response

    def __len__(self) -> int:
        return len(self._entries)

    def __call__(self, body: dict[str, Any]) -> ScriptedResponse:
        key = request_key(body)
        response = self._entries.get(key)
        if response is None:
            raise ResponderError(f"scripted model: no cassette entry for request key {key}")
        return response

    def record(self, body: dict[str, Any], response: ScriptedResponse) -> str:
        """Store the answer to a request; returns its key."""
        key = request_key(body)
        self._entries[key] = response
        return key

    def to_data(self) -> dict[str, Any]:
        """The cassette as file data (``{"entries": [{key, response}, ...]}``)."""
        entries = [
            {"key": key, "response": response.model_dump(exclude_defaults=True)}
            for key, response in self._entries.items()
        ]
        return {"entries": entries}

    def save(self, path: Path) -> None:
        """Write YAML (``.yaml``/``.yml``) or JSON, by the file's suffix."""
        data = self.to_data()
        if path.suffix in (".yaml", ".yml"):
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
        else:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def request_key(body: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the request's messages and tools.

    Canonical: keys sorted, tool-call arguments re-serialised, and tool-call ids replaced by
    their order of appearance, because servers generate ids at random and a cassette must
    match the same conversation replayed later.
    """
    canonical = canonical_request(body)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_request(body: dict[str, Any]) -> dict[str, Any]:
    """What ``request_key`` hashes: the messages (tool-call ids by order, arguments decoded)
    and the tools."""
    messages = _canonical_messages(body.get("messages") or [])
    return {"messages": messages, "tools": body.get("tools") or []}


def load_script(path: Path) -> Script:
    """A script file: a list of responses, or ``{"responses": [...]}`` (YAML or JSON)."""
    data = _read(path)
    items = data.get("responses") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ScriptFileError(f"{path}: expected a list of responses or a 'responses' list")
    try:
        return Script(items)
    except ValidationError as error:
        raise ScriptFileError(f"{path}: invalid scripted response: {error}") from None


def load_cassette(path: Path) -> Cassette:
    """A cassette file: ``{"entries": [{"key": ..., "response": {...}}, ...]}``."""
    data = _read(path)
    try:
        return Cassette(CassetteFile.model_validate(data).entries)
    except ValidationError as error:
        raise ScriptFileError(f"{path}: invalid cassette: {error}") from None


def _canonical_messages(messages: list[Any]) -> list[Any]:
    ids: dict[str, str] = {}

    def alias(call_id: Any) -> str:
        return ids.setdefault(str(call_id), f"call_{len(ids)}")

    result = copy.deepcopy(messages)
    for message in result:
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                call["id"] = alias(call.get("id"))
                _canonical_arguments(call.get("function"))
        if "tool_call_id" in message:
            message["tool_call_id"] = alias(message["tool_call_id"])
    return result


def _canonical_arguments(function: Any) -> None:
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return
    with contextlib.suppress(ValueError):  # invalid JSON stays as it was sent
        function["arguments"] = json.loads(function["arguments"])


def _read(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise ScriptFileError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ScriptFileError(f"{path}: not valid {kind}: {error}") from None
