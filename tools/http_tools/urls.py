"""Build request URLs from a base URL and a path template, without letting a value escape.

Every path value is percent-encoded as one segment (``quote(value, safe="")``), so ``/``,
``?``, ``#``, ``@`` and ``%`` cannot change the host, the path or the query; values that
are dot segments (``.``, ``..``) or hold a slash are refused outright, because many servers
decode ``%2F`` and normalise ``..`` before routing. The finished URL is checked once more:
same scheme, host and port as the base, and a path under the base path.
"""

import re
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from tools.errors import ToolExecutionError
from tools.registry import ToolInputError

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATH_CHAR = r"[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}|\{[^{}/]+\}"
_PATH_TEMPLATE = re.compile(rf"^(?:/(?:{_PATH_CHAR})*)+$")
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def template_problem(template: str) -> str | None:
    """Why a path template is unsafe or malformed, or None."""
    if not _PATH_TEMPLATE.match(template):
        return "must start with '/' and hold only path characters and {name} placeholders"
    if _DOT_SEGMENT.search(PLACEHOLDER.sub("x", template)):
        return "may not hold '.' or '..' segments"
    return None


def base_url_problem(url: str) -> str | None:
    """Why a base URL cannot be used, or None (http(s), a host, no credentials or query)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as error:
        return f"not a URL: {error}"
    if parsed.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parsed.host:
        return "has no host"
    if parsed.userinfo:
        return "may not hold credentials; use auth"
    if parsed.query or parsed.fragment:
        return "may not hold a query or a fragment"
    return None


def path_value(name: str, value: object) -> str:
    """One path segment, encoded; ToolInputError for values that cannot be a segment."""
    text = _text(value)
    if text in ("", ".", "..") or "/" in text or "\\" in text:
        raise ToolInputError(f"{name}: {text!r} is not a valid value")
    return quote(text, safe="")


def render_path(template: str, values: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: path_value(m.group(1), values[m.group(1)]), template)


def build_url(base_url: str, template: str, values: Mapping[str, object]) -> str:
    """The full URL; ToolExecutionError if it would leave the base (a bug, not the model)."""
    url = base_url.rstrip("/") + render_path(template, values)
    base, built = httpx.URL(base_url), httpx.URL(url)
    base_path = base.raw_path.rstrip(b"/")
    same_origin = (built.scheme, built.host, built.port) == (base.scheme, base.host, base.port)
    inside = built.raw_path == base_path or built.raw_path.startswith(base_path + b"/")
    if not same_origin or not inside or built.query or built.fragment:
        raise ToolExecutionError(f"refused to call {url!r}: it leaves {base_url!r}")
    return url


def query_value(value: object) -> str:
    return _text(value)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
