"""Approval rules: whether a tool call needs a person's approval before it runs.

A rule is any callable ``(validated arguments, context) -> reason | None``; a reason
means "ask a person first" and says why. Two declarative rules cover the usual cases:
``RequireApproval`` (always) and ``ApprovalAbove`` (an argument above a tenant's limit).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from tools.context import ToolContext

Args = TypeVar("Args", bound=BaseModel)

ApprovalRule = Callable[[Args, ToolContext], str | None]
"""Returns why the call needs approval, or None when it may run now."""


@dataclass(frozen=True)
class ApprovalRequest:
    """A call held back for a person's decision (the graph turns it into an interrupt)."""

    tool: str
    arguments: dict[str, Any]
    reason: str
    idempotency_key: str


@dataclass(frozen=True)
class RequireApproval:
    """Every call needs approval."""

    reason: str = "this action always needs a person's approval"

    def __call__(self, args: BaseModel, context: ToolContext) -> str | None:
        return self.reason


@dataclass(frozen=True)
class ApprovalAbove:
    """Calls whose ``param`` is above ``limit`` need approval (``limit_name``: where it is set)."""

    param: str
    limit: float
    limit_name: str | None = None

    def __call__(self, args: BaseModel, context: ToolContext) -> str | None:
        value = getattr(args, self.param, None)
        if not isinstance(value, int | float) or value <= self.limit:
            return None
        source = f" ({self.limit_name})" if self.limit_name else ""
        return f"{self.param} {value:g} is above the approval limit {self.limit:g}{source}"


def never(args: BaseModel, context: ToolContext) -> str | None:
    """No call needs approval (overrides the "sensitive means always" default)."""
    return None
