"""Read a YAML mapping strictly: a key given twice is an error, not a silent overwrite."""

from pathlib import Path
from typing import Any

import yaml

from tools.yaml_safe import SafeLoader


class DuplicateKey(yaml.YAMLError):
    pass


class _StrictLoader(SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKey(f"{key!r} is given twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: Path) -> Any:
    """The document; OSError or yaml.YAMLError (DuplicateKey included) on failure."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
