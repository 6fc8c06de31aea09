"""Load a tenant's HTTP tools file: read, expand ``${NAME}``, validate, check, build.

Every problem names the file and the field (``tools.lookup_order.path: ...``). A backend
whose host is not on the tenant's allow-list is refused here, at load time, as is an
approval rule naming a limit the tenant did not set.
"""

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tools.envref import MissingVariable, expand_references
from tools.errors import ToolsError
from tools.http_tools.auth import auth_headers
from tools.http_tools.client import Bounds
from tools.http_tools.hosts import HostPattern
from tools.http_tools.openapi import OpenApiError, read_document
from tools.http_tools.pool import HttpPool
from tools.http_tools.resolve import Problems, resolve_backend, resolve_tool
from tools.http_tools.spec import BackendSpec, ToolsFile
from tools.http_tools.tool import Backend, HttpToolDecl
from tools.http_tools.yamlfile import read_yaml
from tools.registry import Tool
from tools.retry import RetryPolicy


class ToolsFileError(ToolsError):
    """A tools file that cannot be used; the message names the file and each field."""


def load_tools_file(
    path: Path,
    *,
    allowed_hosts: Iterable[str | HostPattern],
    limits: Mapping[str, float] | None = None,
    environ: Mapping[str, str] | None = None,
    pool: HttpPool | None = None,
) -> list[Tool[Any]]:
    """The registry tools a tools file declares (``environ``: for ``${NAME}``; none if None).
    Their calls share ``pool``'s connections (None: a pool of this file's own)."""
    decls = load_declarations(path, allowed_hosts, limits, environ, pool)
    return [decl.to_tool() for decl in decls]


def load_declarations(
    path: Path,
    allowed_hosts: Iterable[str | HostPattern],
    limits: Mapping[str, float] | None = None,
    environ: Mapping[str, str] | None = None,
    pool: HttpPool | None = None,
) -> list[HttpToolDecl]:
    spec = _read(path, environ or {})
    patterns = _patterns(path, allowed_hosts)
    problems = Problems()
    shared = pool or HttpPool()
    backends = {
        name: _backend(name, backend, patterns, problems, shared)
        for name, backend in spec.backends.items()
    }
    documents = {
        name: _document(path, name, backend, problems) for name, backend in spec.backends.items()
    }
    decls = [
        resolve_tool(name, tool, backends, documents, limits or {}, problems)
        for name, tool in spec.tools.items()
    ]
    if problems:
        raise ToolsFileError(problems.describe(path))
    return [decl for decl in decls if decl is not None]


def _read(path: Path, environ: Mapping[str, str]) -> ToolsFile:
    try:
        raw = read_yaml(path)
    except OSError as error:
        raise ToolsFileError(f"cannot read tools file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ToolsFileError(f"tools file {path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ToolsFileError(f"tools file {path} must hold a mapping at the top level")
    try:
        return ToolsFile.model_validate(expand_references(raw, environ))
    except MissingVariable as error:
        raise ToolsFileError(f"invalid tools file {path}:\n  {error}") from None
    except ValidationError as error:
        raise ToolsFileError(Problems.from_validation(error).describe(path)) from None


def _patterns(path: Path, allowed: Iterable[str | HostPattern]) -> list[HostPattern]:
    try:
        return [a if isinstance(a, HostPattern) else HostPattern.parse(a) for a in allowed]
    except ValueError as error:
        raise ToolsFileError(f"allowed hosts for {path}: {error}") from None


def _backend(
    name: str,
    spec: BackendSpec,
    patterns: Sequence[HostPattern],
    problems: Problems,
    pool: HttpPool,
) -> Backend | None:
    if not resolve_backend(spec.base_url, patterns, f"backends.{name}.base_url", problems):
        return None
    retry = spec.retry
    return Backend(
        name=name,
        base_url=spec.base_url,
        headers={**spec.headers, **auth_headers(spec.auth)},
        bounds=Bounds(
            timeout_s=spec.timeout_s,
            max_response_bytes=spec.max_response_bytes,
            retry=RetryPolicy(retry.max_retries, retry.backoff_base_s, retry.backoff_max_s),
        ),
        idempotency_header=spec.idempotency_header,
        pool=pool,
    )


def _document(
    path: Path, name: str, spec: BackendSpec, problems: Problems
) -> dict[str, Any] | None:
    """The backend's OpenAPI document (a path relative to the tools file), if it names one."""
    if spec.openapi is None:
        return None
    try:
        return read_document(path.parent / spec.openapi)
    except OpenApiError as error:
        problems.add(f"backends.{name}.openapi", str(error))
        return None
