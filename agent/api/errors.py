"""The one place where errors become HTTP answers. A 500 never echoes internals."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.channels.base import ChannelError
from agent.config.tenants import UnknownTenant
from agent.errors import DependencyUnavailable, DeskhandError
from agent.runtime.stores import RuntimeStoreError

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # what a 503 asks a caller to wait: a Redis restart or failover is short


class ApiError(DeskhandError):
    """A request the API refuses, with the status it gets."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def status_for(error: DeskhandError) -> int:
    if isinstance(error, ApiError | ChannelError):
        return error.status_code
    if isinstance(error, UnknownTenant):
        return 404
    if isinstance(error, RuntimeStoreError | DependencyUnavailable):
        return 503
    return 500


def error_response(path: str, error: DeskhandError) -> JSONResponse:
    """The answer to a refused or failed request: the reason for a 4xx, never internals."""
    status = status_for(error)
    if status >= 500:
        log.error("request failed", extra={"path": path, "error": str(error)})
        if status == 503:
            return JSONResponse(
                {"error": "a dependency is unavailable; retry later"},
                status_code=503,
                headers={"retry-after": str(RETRY_AFTER_S)},
            )
        return JSONResponse({"error": "internal error"}, status_code=status)
    return JSONResponse({"error": str(error)}, status_code=status)


def unexpected_response(path: str) -> JSONResponse:
    log.exception("unexpected error", extra={"path": path})
    return JSONResponse({"error": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DeskhandError)
    async def deskhand_error(request: Request, error: DeskhandError) -> JSONResponse:
        return error_response(request.url.path, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own refusals (an unparsable JSON body, an unknown path) in our shape."""
        return JSONResponse(
            {"error": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()]
        return JSONResponse({"error": "; ".join(problems)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return unexpected_response(request.url.path)
