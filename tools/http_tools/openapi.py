"""Tool declarations from an OpenAPI 3 document, by ``operationId``.

A tools file may name ``openapi:`` on a backend and ``operation:`` on a tool instead of
writing method, path and parameters by hand: they come from the document (path, query
and flat JSON-body parameters of scalar types, local ``$ref``s resolved). Whatever the
tool also declares in the YAML wins. ``servers`` is ignored: the backend's ``base_url``,
which the tenant's host allow-list checked, is where requests go.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

_METHODS = ("get", "post", "put", "patch", "delete")
_SCALARS = ("string", "integer", "number", "boolean")
_CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "enum": "enum",
    "default": "default",
}


class OpenApiError(ValueError):
    """The document, or the operation asked for, cannot be turned into a tool."""


def read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise OpenApiError(f"cannot read OpenAPI document {path}: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise OpenApiError(f"{path} is not an OpenAPI document (no 'paths')")
    return document


def operation_ids(document: Mapping[str, Any]) -> list[str]:
    return [op["operationId"] for _m, _p, op in _operations(document) if "operationId" in op]


def declaration(document: Mapping[str, Any], operation_id: str) -> dict[str, Any]:
    """``{method, path, description, parameters}`` as a tools file would write them."""
    for method, path, operation in _operations(document):
        if operation.get("operationId") == operation_id:
            return {
                "method": method.upper(),
                "path": path,
                "description": _description(operation),
                "parameters": _parameters(document, operation),
            }
    known = ", ".join(sorted(operation_ids(document))) or "none"
    raise OpenApiError(f"no operation {operation_id!r} in the document (known: {known})")


def _operations(document: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in document.get("paths", {}).items():
        if isinstance(item, dict):
            for method in _METHODS:
                operation = item.get(method)
                if isinstance(operation, dict):
                    operation = {**operation, "_shared": item.get("parameters", [])}
                    found.append((method, str(path), operation))
    return found


def _description(operation: Mapping[str, Any]) -> str | None:
    parts = [operation.get("summary"), operation.get("description")]
    text = " ".join(str(p).strip() for p in parts if p)
    return text or None


def _parameters(document: Mapping[str, Any], operation: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for raw in [*operation.get("_shared", []), *operation.get("parameters", [])]:
        param = _resolve(document, raw)
        if param.get("in") in ("path", "query"):
            schema = _resolve(document, param.get("schema", {}))
            required = bool(param.get("required")) or param["in"] == "path"
            spec = _param(document, schema, param.get("description"), required, param["in"])
            if spec is not None:
                params[str(param["name"])] = spec
    params.update(_body_parameters(document, operation))
    return params


def _body_parameters(document: Mapping[str, Any], operation: Mapping[str, Any]) -> dict[str, Any]:
    body = _resolve(document, operation.get("requestBody", {}))
    content = body.get("content", {}).get("application/json", {})
    schema = _resolve(document, content.get("schema", {}))
    required = set(schema.get("required", []))
    params = {}
    for name, prop in schema.get("properties", {}).items():
        spec = _param(document, _resolve(document, prop), None, name in required, "body")
        if spec is not None:
            params[str(name)] = spec
    return params


def _param(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    description: str | None,
    required: bool,
    location: str,
) -> dict[str, Any] | None:
    schema = {**_resolve(document, _without_null(schema)), **_annotations(schema)}
    kind = schema.get("type", "string")
    if kind not in _SCALARS:
        if required:
            raise OpenApiError(f"a required parameter has type {kind!r}; only scalars work")
        return None
    spec: dict[str, Any] = {"type": kind, "required": required, "in": location}
    text = description or schema.get("description")
    if text:
        spec["description"] = str(text)
    for source, target in _CONSTRAINTS.items():
        value = schema.get(source)
        # OpenAPI 3.0 writes exclusiveMinimum as a flag; only 3.1's number form is used.
        if value is not None and (source == "default" or not isinstance(value, bool)):
            spec[target] = value
    return spec


def _annotations(schema: Mapping[str, Any]) -> dict[str, Any]:
    """What a field says beside its type (kept when the type is a reference)."""
    return {k: schema[k] for k in ("description", "default") if k in schema}


def _without_null(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """``anyOf: [X, {type: null}]`` (an optional field, as FastAPI writes it) → X."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
        if len(kept) == 1:
            return {**kept[0], **{k: v for k, v in schema.items() if k != "anyOf"}}
    return schema


def _resolve(document: Mapping[str, Any], node: Any, depth: int = 0) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``); other nodes come back as they are."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    if not ref.startswith("#/") or depth > 10:
        raise OpenApiError(f"unsupported $ref {ref!r} (only local references)")
    target: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part) if isinstance(target, dict) else None
    if target is None:
        raise OpenApiError(f"$ref {ref!r} points nowhere")
    return _resolve(document, target, depth + 1)
