"""The OpenAPI document served at ``/openapi.json`` (and rendered by Swagger UI at ``/docs``).

FastAPI builds it from the routes' decorators; ``install_openapi`` adds what it cannot
infer: the bearer security schemes, the webhook's channel list, and the error body of
request validation (ours is ``{"error": ...}``, not FastAPI's ``detail`` list).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from agent.api import webhook_docs
from agent.api.schemas import SECURITY_SCHEMES
from agent.channels import CHANNELS

DESCRIPTION = """\
deskhand, a self-hosted customer-support agent. Helpdesks post their events to
`POST /webhooks/{tenant}/{channel}`; tenants read transcripts with their API token;
operators decide approvals with the admin token. Every error is `{"error": "..."}`.
See docs/api.md.
"""


def install_openapi(app: FastAPI) -> None:
    """Serve the refined document (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_openapi(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
    )
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    webhook_docs.refine(spec, list(CHANNELS))
    return spec
