"""``${NAME}`` and ``${NAME:-default}`` references in configuration files.

One syntax for every YAML file deskhand reads (bot files, HTTP tools files): a string
value may name an environment variable; a missing variable without a default is an
error that says where it was referenced.
"""

import re
from collections.abc import Mapping
from typing import Any

from tools.errors import ToolsError

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class MissingVariable(ToolsError):
    """A ``${NAME}`` reference to a variable that is not set and has no default."""

    def __init__(self, name: str, location: str) -> None:
        super().__init__(f"{location}: environment variable {name} is not set")
        self.name = name
        self.location = location


def expand_references(value: Any, environ: Mapping[str, str], location: str = "") -> Any:
    """``value`` with every ``${NAME}`` in its strings replaced (mappings and lists walked)."""
    if isinstance(value, dict):
        return {
            k: expand_references(v, environ, join_location(location, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            expand_references(v, environ, join_location(location, str(i)))
            for i, v in enumerate(value)
        ]
    if isinstance(value, str):
        return ENV_REFERENCE.sub(lambda match: _variable(match, environ, location), value)
    return value


def join_location(location: str, key: str) -> str:
    return f"{location}.{key}" if location else key


def _variable(match: "re.Match[str]", environ: Mapping[str, str], location: str) -> str:
    name, default = match.group(1), match.group(2)
    if name in environ:
        return environ[name]
    if default is not None:
        return default
    raise MissingVariable(name, location)
