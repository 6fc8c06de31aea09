"""Typed tools the model can call, with their side-effect class, approval rule, timeout,
idempotency key and schema.

A tool's handler receives validated arguments and the run's ``ToolContext`` (with the
call's idempotency key). It raises ``ToolInputError`` for a mistake the model can correct
(an unknown order id); any other exception is a system failure and becomes
``ToolExecutionError``. A call its approval rule holds back is not run: ``invoke`` returns
an ``approval_required`` outcome carrying an ``ApprovalRequest``.
"""

import asyncio
import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from tools.approval import ApprovalRequest, ApprovalRule, RequireApproval
from tools.context import ToolContext
from tools.errors import ToolExecutionError, ToolNotFound, ToolsError
from tools.idempotency import KeyFunction, default_key

Args = TypeVar("Args", bound=BaseModel)


class SideEffect(StrEnum):
    READ = "read"
    WRITE = "write"
    SENSITIVE = "sensitive"


class ToolStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    APPROVAL_REQUIRED = "approval_required"


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
    """The result handed back to the model (``ok`` False: a message it can act on).

    ``status`` defaults from ``ok``; ``approval_required`` outcomes carry ``approval``.
    """

    tool: str
    ok: bool
    content: Any
    status: ToolStatus | None = None
    approval: ApprovalRequest | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            object.__setattr__(self, "status", ToolStatus.OK if self.ok else ToolStatus.ERROR)
        if (self.status is ToolStatus.APPROVAL_REQUIRED) != (self.approval is not None):
            raise ValueError("an approval_required outcome carries its ApprovalRequest")

    @property
    def needs_approval(self) -> bool:
        return self.status is ToolStatus.APPROVAL_REQUIRED

    def to_model_text(self) -> str:
        payload: dict[str, Any] = {"ok": self.ok, "result" if self.ok else "error": self.content}
        if self.needs_approval:
            payload["approval_required"] = True
        return json.dumps(payload, ensure_ascii=False, default=str)


Handler = Callable[[Args, ToolContext], Awaitable[Any] | Any]
_ALWAYS = RequireApproval("a sensitive action needs a person's approval")


@dataclass(frozen=True)
class Tool(Generic[Args]):
    """One tool. ``approval`` None: sensitive tools always need approval, others never.
    ``idempotency_key`` None: derived from tenant, conversation, tool and all arguments."""

    name: str
    description: str
    args_model: type[Args]
    handler: Handler[Args]
    side_effect: SideEffect = SideEffect.READ
    timeout_s: float = 10.0
    approval: ApprovalRule[Args] | None = None
    idempotency_key: KeyFunction[Args] | None = None

    def schema(self) -> ToolSchema:
        return self._schema

    @functools.cached_property
    def _schema(self) -> ToolSchema:
        """Built once: pydantic's JSON schema generation costs about a millisecond a tool."""
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

    def approval_reason(self, args: Args, context: ToolContext) -> str | None:
        rule = self.approval
        if rule is None and self.side_effect is SideEffect.SENSITIVE:
            rule = _ALWAYS
        return rule(args, context) if rule is not None else None

    def key_for(self, args: Args, context: ToolContext) -> str:
        key = self.idempotency_key or default_key
        return key(args, context, self.name)


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
        self, name: str, arguments: dict[str, Any], context: ToolContext, *, approved: bool = False
    ) -> ToolOutcome:
        """Run a tool. Model mistakes come back as ``ok=False``; system failures raise.

        A call its approval rule holds back is not run unless ``approved`` (a person said
        yes): the outcome is ``approval_required`` with the request to decide on.
        """
        if name not in self._tools:
            return ToolOutcome(name, False, self.validation_error(name, arguments))
        tool = self._tools[name]
        try:
            parsed = tool.parse(arguments)
            context = replace(context, idempotency_key=tool.key_for(parsed, context))
            reason = None if approved else tool.approval_reason(parsed, context)
            if reason is not None:
                return _approval_required(tool, parsed, context, reason)
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


def _approval_required(
    tool: Tool[Any], parsed: BaseModel, context: ToolContext, reason: str
) -> ToolOutcome:
    assert context.idempotency_key is not None
    request = ApprovalRequest(
        tool.name, parsed.model_dump(mode="json"), reason, context.idempotency_key
    )
    message = f"not done yet: this needs a person's approval ({reason})"
    return ToolOutcome(tool.name, False, message, ToolStatus.APPROVAL_REQUIRED, request)


async def _call(tool: Tool[Any], arguments: BaseModel, context: ToolContext) -> Any:
    result = tool.handler(arguments, context)
    if inspect.isawaitable(result):
        return await result
    return result
