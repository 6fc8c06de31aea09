"""The pydantic model of an HTTP tool's arguments, from its declared parameters.

The model sees exactly these parameters (the customer scope is not one of them).
Arguments it was not offered are ignored, so a scope value it invents never arrives.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools.http_tools.spec import ParamSpec

_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}


def _drop_null_branches(schema: dict[str, Any]) -> None:
    """``anyOf: [X, null]`` → ``X``: optional means "may be left out", not "may be null"."""
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf")
        if isinstance(branches, list):
            kept = [b for b in branches if b.get("type") != "null"]
            if len(kept) == 1:
                del prop["anyOf"]
                prop.update(kept[0])
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class HttpToolArgs(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_drop_null_branches)


def args_model(tool_name: str, params: dict[str, ParamSpec]) -> type[HttpToolArgs]:
    fields: dict[str, Any] = {name: _field(spec) for name, spec in params.items()}
    model_name = "".join(part.capitalize() for part in tool_name.replace("-", "_").split("_"))
    model: type[HttpToolArgs] = create_model(
        f"{model_name}Args",
        __base__=HttpToolArgs,
        **fields,
    )
    return model


def _field(spec: ParamSpec) -> tuple[Any, Any]:
    annotation: Any = Literal[tuple(spec.enum)] if spec.enum else _TYPES[spec.type]
    constraints: dict[str, Any] = {
        "description": spec.description or None,
        "min_length": spec.min_length,
        "max_length": spec.max_length,
        "pattern": spec.pattern,
        "ge": spec.minimum,
        "le": spec.maximum,
        "gt": spec.exclusive_minimum,
    }
    constraints = {k: v for k, v in constraints.items() if v is not None}
    if spec.required and spec.default is None:
        return annotation, Field(**constraints)
    return annotation | None, Field(default=spec.default, **constraints)
