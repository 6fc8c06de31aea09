"""Typed tools the model can call, with their side-effect class, timeout and schema.

A tool's handler receives validated arguments and the run's ``ToolContext``. It raises
``ToolInputError`` for a mistake the model can correct (an unknown order id); any
other exception is a system failure and becomes ``ToolExecutionError``.
"""

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tools.context import ToolContext
from tools.errors import ToolExecutionError, ToolNotFound, ToolsError

Args = TypeVar("Args", bound=BaseModel)


class SideEffect(StrEnum):
    READ = "read"
    WRITE = "write"
    SENSITIVE = "sensitive"


class ToolInputError(ToolsError):
    """The model asked for something that does not exist or does not fit; it may try again."""


@dataclass(frozen=True)
class ToolSchema:
    """What the model is told about a tool."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    """The result handed back to the model (``ok`` False: a message it can act on)."""

    tool: str
    ok: bool
    content: Any

    def to_model_text(self) -> str:
        payload = {"ok": self.ok, "result" if self.ok else "error": self.content}
        return json.dumps(payload, ensure_ascii=False, default=str)


Handler = Callable[[Args, ToolContext], Awaitable[Any] | Any]


@dataclass(frozen=True)
class Tool(Generic[Args]):
    name: str
    description: str
    args_model: type[Args]
    handler: Handler[Args]
    side_effect: SideEffect = SideEffect.READ
    timeout_s: float = 10.0

    def schema(self) -> ToolSchema:
        parameters = self.args_model.model_json_schema()
        parameters.pop("title", None)
        for prop in parameters.get("properties", {}).values():
            prop.pop("title", None)
        return ToolSchema(self.name, self.description, parameters)

    def parse(self, arguments: dict[str, Any]) -> Args:
        """Validated arguments, or ToolInputError describing each problem."""
        try:
            return self.args_model.model_validate(arguments)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in error.errors()
            )
            raise ToolInputError(f"invalid arguments for {self.name}: {problems}") from None


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any]] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool[Any]) -> None:
        if tool.name in self._tools:
            raise ToolsError(f"tool {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    @property
    def names(self) -> set[str]:
        return set(self._tools)

    def get(self, name: str) -> Tool[Any]:
        tool = self._tools.get(name)
        if tool is None:
            raise ToolNotFound(f"no tool named {name!r}")
        return tool

    def schemas(self, enabled: Iterable[str]) -> list[ToolSchema]:
        return [self.get(name).schema() for name in enabled]

    def validation_error(self, name: str, arguments: dict[str, Any]) -> str | None:
        """None when the call is well-formed, else a message for the model."""
        if name not in self._tools:
            return f"there is no tool named {name!r}; use one of: {', '.join(sorted(self._tools))}"
        try:
            self._tools[name].parse(arguments)
        except ToolInputError as error:
            return str(error)
        return None

    async def invoke(
        self, name: str, arguments: dict[str, Any], context: ToolContext
    ) -> ToolOutcome:
        """Run a tool. Model mistakes come back as ``ok=False``; system failures raise."""
        if name not in self._tools:
            return ToolOutcome(name, False, self.validation_error(name, arguments))
        tool = self._tools[name]
        try:
            parsed = tool.parse(arguments)
            result = await asyncio.wait_for(_call(tool, parsed, context), tool.timeout_s)
        except ToolInputError as error:
            return ToolOutcome(name, False, str(error))
        except TimeoutError:
            raise ToolExecutionError(f"tool {name} timed out after {tool.timeout_s:g}s") from None
        except ToolsError:
            raise
        except Exception as error:
            raise ToolExecutionError(f"tool {name} failed: {type(error).__name__}") from error
        return ToolOutcome(name, True, result)


async def _call(tool: Tool[Any], arguments: BaseModel, context: ToolContext) -> Any:
    result = tool.handler(arguments, context)
    if inspect.isawaitable(result):
        return await result
    return result
