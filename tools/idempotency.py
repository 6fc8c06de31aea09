"""Idempotency keys: one per (tenant, conversation, tool, canonical arguments).

A retried turn that makes the same call gets the same key, so a write reaches its
backend once. A tool may narrow the arguments that count (``key_from_params``): a refund
of the same amount on the same order is the same refund, whatever the reason's wording.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from tools.context import ToolContext

Args = TypeVar("Args", bound=BaseModel)

KeyFunction = Callable[[Args, ToolContext, str], str]
"""(validated arguments, context, tool name) -> the call's idempotency key."""


def derive_key(context: ToolContext, tool: str, arguments: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {
            "tenant": context.tenant,
            "conversation": context.conversation_key,
            "tool": tool,
            "arguments": arguments,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "dh_" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def default_key(args: BaseModel, context: ToolContext, tool: str) -> str:
    return derive_key(context, tool, args.model_dump(mode="json"))


def key_from_params(params: Iterable[str]) -> KeyFunction[BaseModel]:
    """A key function that looks only at the named arguments."""
    names = tuple(params)

    def key(args: BaseModel, context: ToolContext, tool: str) -> str:
        values = args.model_dump(mode="json")
        return derive_key(context, tool, {name: values.get(name) for name in names})

    return key
