"""Reading a delivery's body: JSON (400 when it is not) into a pydantic model (422 when the
shape is wrong), with messages that name each problem."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from agent.channels.base import PayloadInvalid

Model = TypeVar("Model", bound=BaseModel)


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PayloadInvalid(f"body is not valid JSON: {error}", status_code=400) from None
    except RecursionError:
        raise PayloadInvalid("body is nested too deeply", status_code=400) from None
    except ValueError as error:  # e.g. an integer longer than Python's digit limit
        raise PayloadInvalid(f"body is not usable JSON: {error}", status_code=400) from None


def parse(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PayloadInvalid(describe(error)) from None


def parse_body(model: type[Model], body: bytes) -> Model:
    return parse(model, load_json(body))


def describe(error: ValidationError, limit: int = 5) -> str:
    problems = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in error.errors()[:limit]
    ]
    more = len(error.errors()) - limit
    suffix = f" (and {more} more)" if more > 0 else ""
    return "invalid payload: " + "; ".join(problems) + suffix
