"""Turn files into Documents: Markdown, plain text, HTML, PDF and Zendesk Guide exports.

A file that cannot be loaded (unreadable, empty, binary, not UTF-8, too large, an
encrypted or image-only PDF, ...) is reported by name with a reason and skipped;
the others are still loaded.
"""

from knowledge.loaders.common import DEFAULT_MAX_FILE_BYTES, LoadFailure, LoadResult
from knowledge.loaders.files import load_file, load_folder, load_path
from knowledge.loaders.html import html_to_markdown, parse_html
from knowledge.loaders.markdown import parse_markdown
from knowledge.loaders.text import parse_text
from knowledge.loaders.walk import DEFAULT_EXCLUDE, DEFAULT_INCLUDE

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "DEFAULT_MAX_FILE_BYTES",
    "LoadFailure",
    "LoadResult",
    "html_to_markdown",
    "load_file",
    "load_folder",
    "load_path",
    "parse_html",
    "parse_markdown",
    "parse_text",
]
