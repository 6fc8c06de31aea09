"""Turn pydantic validation errors into messages that name the field and the file."""

from collections.abc import Sequence

from pydantic import ValidationError


def describe_validation_error(
    error: ValidationError, source: str, field_prefix: str = "", upper: bool = False
) -> str:
    """One line per problem: ``source: field: what is wrong``."""
    lines = [f"invalid configuration in {source}:"]
    for problem in error.errors():
        field = _field_name(problem["loc"], field_prefix, upper)
        lines.append(f"  {field}: {problem['msg']}")
    return "\n".join(lines)


def _field_name(location: Sequence[object], prefix: str, upper: bool) -> str:
    dotted = ".".join(str(part) for part in location) or "(top level)"
    name = f"{prefix}{dotted}"
    return name.upper() if upper else name
