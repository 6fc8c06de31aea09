"""Safe YAML loading with libyaml's C parser when PyYAML has it (ten times faster).

Bot files and tools files are read at every process start; a forked worker that replaces a
killed one reads them again, so the pure-Python parser's 100-200 ms showed in its restart.
"""

from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    SafeLoader = yaml.SafeLoader
else:  # the same constructors and resolver on libyaml's parser
    SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` on the fastest safe loader available."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader
