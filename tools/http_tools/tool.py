"""An HTTP tool declaration, resolved and checked, and the registry ``Tool`` it becomes."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.approval import ApprovalRule
from tools.context import ToolContext
from tools.http_tools.args import HttpToolArgs, args_model
from tools.http_tools.client import Bounds, HttpRequest, call_json
from tools.http_tools.pool import HttpPool
from tools.http_tools.select import Selector, select
from tools.http_tools.spec import ParamSpec, ScopeSpec
from tools.http_tools.urls import build_url, query_value
from tools.idempotency import KeyFunction
from tools.registry import SideEffect, Tool, ToolInputError


@dataclass(frozen=True)
class Backend:
    """Where a tool's requests go, with which headers (auth included) and bounds, and the
    pool of connections they go through."""

    name: str
    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    bounds: Bounds
    idempotency_header: str
    pool: HttpPool = field(repr=False, compare=False)


@dataclass(frozen=True)
class HttpToolDecl:
    """One tool, every default filled in and every cross-field rule already checked."""

    name: str
    description: str
    method: str
    path: str
    params: Mapping[str, ParamSpec]  # each with its location set
    scope: ScopeSpec | None
    selectors: tuple[Selector, ...] | None
    side_effect: SideEffect
    approval: ApprovalRule[Any] | None
    idempotency_key: KeyFunction[Any] | None
    backend: Backend

    def to_tool(self) -> Tool[Any]:
        bounds = self.backend.bounds
        # The registry's deadline covers every attempt and the waits between them.
        retry = bounds.retry
        total_s = (retry.max_retries + 1) * bounds.timeout_s + retry.max_retries * (
            retry.backoff_max_s
        )
        return Tool(
            name=self.name,
            description=self.description,
            args_model=args_model(self.name, dict(self.params)),
            handler=self._handle,
            side_effect=self.side_effect,
            timeout_s=total_s + 1.0,
            approval=self.approval,
            idempotency_key=self.idempotency_key,
        )

    async def _handle(self, args: HttpToolArgs, context: ToolContext) -> Any:
        request = self.request(args, context)
        answer = await call_json(self.name, request, self.backend.bounds, self.backend.pool)
        if self.selectors is None or answer is None:
            return answer
        return select(answer, self.selectors)

    def request(self, args: HttpToolArgs, context: ToolContext) -> HttpRequest:
        values = args.model_dump(exclude_none=True)
        placed: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "body": {}, "header": {}}
        for name, value in values.items():
            location = self.params[name].location
            assert location is not None
            placed[location][name] = value
        if self.scope is not None:
            placed[self.scope.location][self.scope.param] = _scope_value(self.scope, context)
        headers = {"Accept": "application/json", **self.backend.headers}
        headers |= {k: query_value(v) for k, v in placed["header"].items()}
        if self.side_effect is not SideEffect.READ and context.idempotency_key:
            headers[self.backend.idempotency_header] = context.idempotency_key
        body = placed["body"] or None
        if body is None and self.method in ("POST", "PUT", "PATCH"):
            body = {}
        return HttpRequest(
            method=self.method,
            url=build_url(self.backend.base_url, self.path, placed["path"]),
            params={k: query_value(v) for k, v in placed["query"].items()},
            json_body=body,
            headers=headers,
        )


def _scope_value(scope: ScopeSpec, context: ToolContext) -> str:
    """The verified customer's field; without one, nothing can be looked up for them."""
    customer = context.customer
    value = getattr(customer, scope.source, None) if customer is not None else None
    if not value:
        raise ToolInputError(
            f"nothing found: the customer's {scope.source} is not known in this conversation"
        )
    return str(value)
