"""Cross-field checks of one tools file, turning its specs into ``HttpToolDecl``s.

Each check adds a problem naming the field; the loader reports them all together.
"""

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import ValidationError

from tools.approval import ApprovalAbove, ApprovalRule, RequireApproval, never
from tools.http_tools.hosts import HostPattern, host_allowed
from tools.http_tools.openapi import OpenApiError, declaration
from tools.http_tools.select import Selector, parse_selector
from tools.http_tools.spec import ApprovalAboveSpec, ParamSpec, ScopeSpec, ToolSpec
from tools.http_tools.tool import Backend, HttpToolDecl
from tools.http_tools.urls import base_url_problem, placeholders, template_problem
from tools.idempotency import KeyFunction, key_from_params
from tools.registry import SideEffect

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def describe(self, path: Path) -> str:
        lines = [f"invalid tools file {path}:"]
        lines += [f"  {where}: {message}" for where, message in self.items]
        return "\n".join(lines)

    @classmethod
    def from_validation(cls, error: ValidationError) -> "Problems":
        problems = cls()
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "(top level)"
            problems.add(where, item["msg"])
        return problems


def resolve_backend(
    base_url: str, patterns: Sequence[HostPattern], where: str, problems: Problems
) -> bool:
    """Whether the base URL is usable and its host is on the tenant's allow-list."""
    problem = base_url_problem(base_url)
    if problem is not None:
        problems.add(where, problem)
        return False
    url = httpx.URL(base_url)
    port = url.port or _DEFAULT_PORTS[url.scheme]
    if not host_allowed(url.host, port, patterns):
        allowed = ", ".join(_pattern_text(p) for p in patterns) or "none"
        problems.add(where, f"host {url.host!r} is not on the tenant's allowed hosts ({allowed})")
        return False
    return True


def resolve_tool(
    name: str,
    tool: ToolSpec,
    backends: Mapping[str, Backend | None],
    documents: Mapping[str, dict[str, Any] | None],
    limits: Mapping[str, float],
    problems: Problems,
) -> HttpToolDecl | None:
    where = f"tools.{name}"
    backend_name = _backend_name(tool, backends, where, problems)
    backend = backends.get(backend_name) if backend_name is not None else None
    if backend_name is None or backend is None:  # a backend's own problem is already noted
        return None
    shape = _shape(tool, documents.get(backend_name), where, problems)
    if shape is None:
        return None
    method, path, description, declared = shape
    scope = _scope(tool, path, method, where, problems)
    params = _placed(declared, path, method, scope, where, problems)
    return HttpToolDecl(
        name=name,
        description=description,
        method=method,
        path=path,
        params=params,
        scope=scope,
        selectors=_selectors(tool.response, where, problems),
        side_effect=tool.side_effect or (SideEffect.READ if method == "GET" else SideEffect.WRITE),
        approval=_approval(tool.approval, params, limits, f"{where}.approval", problems),
        idempotency_key=_key(tool.idempotency_params, params, where, problems),
        backend=_with_timeout(backend, tool.timeout_s),
    )


def _backend_name(
    tool: ToolSpec, backends: Mapping[str, Backend | None], where: str, problems: Problems
) -> str | None:
    if tool.backend is None and len(backends) == 1:
        return next(iter(backends))
    if tool.backend in backends:
        return tool.backend
    known = ", ".join(sorted(backends))
    problems.add(f"{where}.backend", f"name one of the backends ({known})")
    return None


def _shape(
    tool: ToolSpec, document: dict[str, Any] | None, where: str, problems: Problems
) -> tuple[str, str, str, dict[str, ParamSpec]] | None:
    """Method, path, description and parameters, from the YAML over the OpenAPI operation."""
    imported: dict[str, Any] = {}
    if tool.operation is not None:
        imported = _imported(tool, document, where, problems)
    method = tool.method or imported.get("method")
    path = tool.path or imported.get("path")
    description = tool.description or imported.get("description")
    ok = True
    for field, value in (("method", method), ("path", path), ("description", description)):
        if not value:
            problems.add(f"{where}.{field}", "required (or name an OpenAPI operation)")
            ok = False
    if ok and (problem := template_problem(str(path))):
        problems.add(f"{where}.path", problem)
        ok = False
    params = {**imported.get("parameters", {}), **tool.parameters}
    if tool.customer_scope is not None and tool.customer_scope.param not in tool.parameters:
        params.pop(tool.customer_scope.param, None)  # imported, but the scope fills it
    if not ok:
        return None
    return str(method), str(path), str(description), params


def _imported(
    tool: ToolSpec, document: dict[str, Any] | None, where: str, problems: Problems
) -> dict[str, Any]:
    if document is None:
        problems.add(f"{where}.operation", "the backend names no (readable) openapi document")
        return {}
    try:
        found = declaration(document, str(tool.operation))
        params = {k: ParamSpec.model_validate(v) for k, v in found["parameters"].items()}
    except (OpenApiError, ValidationError) as error:
        problems.add(f"{where}.operation", str(error).splitlines()[0])
        return {}
    return {**found, "parameters": params}


def _scope(
    tool: ToolSpec, path: str, method: str, where: str, problems: Problems
) -> ScopeSpec | None:
    scope = tool.customer_scope
    if scope is None:
        return None
    where = f"{where}.customer_scope"
    if scope.param in tool.parameters:
        problems.add(
            f"{where}.param", f"{scope.param!r} is also a parameter; the model must not set it"
        )
    in_path = scope.param in placeholders(path)
    if in_path and "location" not in scope.model_fields_set:
        return scope.model_copy(update={"location": "path"})
    if in_path != (scope.location == "path"):
        problems.add(f"{where}.in", f"'path' exactly when the path holds {{{scope.param}}}")
    if scope.location == "body" and method == "GET":
        problems.add(f"{where}.in", "a GET request has no body")
    return scope


def _placed(
    declared: Mapping[str, ParamSpec],
    path: str,
    method: str,
    scope: ScopeSpec | None,
    where: str,
    problems: Problems,
) -> dict[str, ParamSpec]:
    """Each parameter with its location: path when the path holds it, else query or body."""
    holes = placeholders(path)
    for hole in holes:
        if hole not in declared and (scope is None or scope.param != hole):
            problems.add(f"{where}.path", f"{{{hole}}} is not a declared parameter")
    placed = {}
    for name, spec in declared.items():
        at = f"{where}.parameters.{name}"
        location = spec.location or ("query" if method in ("GET", "DELETE") else "body")
        if name in holes:
            location = "path"
            if spec.location not in (None, "path"):
                problems.add(f"{at}.in", f"must be 'path': the path holds {{{name}}}")
            if not spec.required:
                problems.add(f"{at}.required", "a path parameter is always required")
        elif location == "path":
            problems.add(f"{at}.in", f"the path holds no {{{name}}}")
        if location == "body" and method == "GET":
            problems.add(f"{at}.in", "a GET request has no body")
        placed[name] = spec.model_copy(update={"location": location})
    return placed


def _selectors(
    texts: list[str] | None, where: str, problems: Problems
) -> tuple[Selector, ...] | None:
    if texts is None:
        return None
    selectors = []
    for index, text in enumerate(texts):
        try:
            selectors.append(parse_selector(text))
        except ValueError as error:
            problems.add(f"{where}.response.{index}", str(error))
    return tuple(selectors)


def _approval(
    spec: Literal["always", "never"] | ApprovalAboveSpec | None,
    params: Mapping[str, ParamSpec],
    limits: Mapping[str, float],
    where: str,
    problems: Problems,
) -> ApprovalRule[Any] | None:
    if spec is None:
        return None
    if spec == "always":
        return RequireApproval()
    if spec == "never":
        return never
    param = params.get(spec.param)
    if param is None or param.type not in ("number", "integer"):
        problems.add(f"{where}.param", f"{spec.param!r} is not a number parameter of this tool")
    limit = _limit(spec.above, limits, f"{where}.above", problems)
    if limit is None:
        return None
    name = spec.above if isinstance(spec.above, str) and spec.above in limits else None
    return ApprovalAbove(spec.param, limit, name)


def _limit(
    above: float | str, limits: Mapping[str, float], where: str, problems: Problems
) -> float | None:
    if isinstance(above, float | int):
        return float(above)
    if above in limits:
        return limits[above]
    try:
        return float(above)
    except ValueError:
        known = ", ".join(sorted(limits)) or "none"
        problems.add(where, f"no limit named {above!r} in the bot file's approvals (set: {known})")
        return None


def _key(
    names: list[str] | None, params: Mapping[str, ParamSpec], where: str, problems: Problems
) -> KeyFunction[Any] | None:
    if names is None:
        return None
    for index, name in enumerate(names):
        if name not in params:
            problems.add(f"{where}.idempotency_params.{index}", f"{name!r} is not a parameter")
    return key_from_params(names)


def _with_timeout(backend: Backend, timeout_s: float | None) -> Backend:
    if timeout_s is None:
        return backend
    return replace(backend, bounds=replace(backend.bounds, timeout_s=timeout_s))


def _pattern_text(pattern: HostPattern) -> str:
    host = f"*.{pattern.host}" if pattern.subdomains else pattern.host
    return f"{host}:{pattern.port}" if pattern.port is not None else host
