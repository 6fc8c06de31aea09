"""A small JSON-schema checker for tool arguments: enough for the schemas tools declare.

Covers ``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties: false``, ``items``, ``anyOf`` / ``oneOf`` / ``allOf`` and local
``$ref`` into ``$defs`` / ``definitions`` (what pydantic generates). Anything else is allowed.
"""

from typing import Any

_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}
_MAX_REF_DEPTH = 32


def schema_errors(value: Any, schema: Any, root: Any = None, path: str = "") -> list[str]:
    """What is wrong with ``value`` against ``schema``, one sentence each (empty: valid)."""
    return _check(value, schema, schema if root is None else root, path, 0)


def json_type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check(value: Any, schema: Any, root: Any, path: str, depth: int) -> list[str]:
    if not isinstance(schema, dict) or depth > _MAX_REF_DEPTH:
        return []
    if isinstance(schema.get("$ref"), str):
        return _check(value, _resolve(schema["$ref"], root), root, path, depth + 1)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches and not _fits_any(value, branches, root, depth):
            return _check(value, branches[0], root, path, depth + 1)
    errors: list[str] = []
    for branch in schema.get("allOf") or []:
        errors += _check(value, branch, root, path, depth + 1)
    type_error = _type_error(value, schema.get("type"), path)
    if type_error:
        return [*errors, type_error]
    errors += _value_errors(value, schema, path)
    if isinstance(value, dict):
        errors += _object_errors(value, schema, root, path, depth)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            errors += _check(item, schema["items"], root, f"{path}[{index}]", depth + 1)
    return errors


def _fits_any(value: Any, branches: list[Any], root: Any, depth: int) -> bool:
    return any(not _check(value, branch, root, "", depth + 1) for branch in branches)


def _type_error(value: Any, declared: Any, path: str) -> str | None:
    if declared is None:
        return None
    allowed = [declared] if isinstance(declared, str) else list(declared)
    if any(_is_type(value, name) for name in allowed):
        return None
    wanted = " or ".join(allowed)
    return f"{_name(path)} must be {_article(wanted)}, got {json_type_name(value)} {value!r:.80}"


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return name == "boolean"
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float)
    return _TYPE_NAMES.get(type(value)) == name


def _value_errors(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return [f"{_name(path)} must be one of {enum!r}, got {value!r:.80}"]
    if "const" in schema and value != schema["const"]:
        return [f"{_name(path)} must be {schema['const']!r}, got {value!r:.80}"]
    return []


def _object_errors(
    value: dict[str, Any], schema: dict[str, Any], root: Any, path: str, depth: int
) -> list[str]:
    properties = schema.get("properties") or {}
    errors = [
        f"missing required {_name(_join(path, key))}"
        for key in schema.get("required") or []
        if key not in value
    ]
    if schema.get("additionalProperties") is False:
        errors += [
            f"unexpected {_name(_join(path, key))}" for key in value if key not in properties
        ]
    for key, item in value.items():
        if key in properties:
            errors += _check(item, properties[key], root, _join(path, key), depth + 1)
    return errors


def _resolve(ref: str, root: Any) -> Any:
    if not ref.startswith("#/"):
        return {}
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _name(path: str) -> str:
    return f"argument '{path}'" if path else "the arguments"


def _article(type_names: str) -> str:
    return ("an " if type_names[0] in "aeiou" else "a ") + type_names
