"""The documented shapes of the API's answers (OpenAPI only: the routes return plain dicts).

Every error, whatever the route, is ``{"error": "<what is wrong>"}`` (``agent.api.errors``);
``error_responses`` documents the statuses a route can answer with.
"""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.runtime.models import ApprovalStatus, Author, Mode


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer; a 5xx never names internals."""

    model_config = ConfigDict(json_schema_extra={"example": {"error": "invalid bearer token"}})

    error: str = Field(description="What is wrong, for a person to read.")


ERROR_MEANINGS: dict[int, str] = {
    400: "The body is not valid JSON (or the request is malformed).",
    401: "Authentication failed: a missing or wrong signature, token or bearer token.",
    403: "The admin token's role is below the one the route needs.",
    404: "Unknown tenant, channel, conversation or approval, or a channel the tenant has "
    "not configured.",
    409: "The approval was already decided; nothing changed.",
    413: "The body is larger than DESKHAND_MAX_BODY_BYTES.",
    422: "The body or a parameter has the wrong shape (the message names the field).",
    503: "A dependency (Redis, SQLite, the knowledge base) is unavailable: retry later.",
}


def error_responses(
    *statuses: int, meanings: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries for these error statuses, each with ``ErrorBody``;
    ``meanings`` replaces the generic description of some of them."""
    described = {**ERROR_MEANINGS, **(meanings or {})}
    return {status: {"model": ErrorBody, "description": described[status]} for status in statuses}


# Bearer security schemes (components.securitySchemes, added by agent.api.openapi).
TENANT_TOKEN = "tenantToken"  # noqa: S105 - a scheme name
ADMIN_TOKEN = "adminToken"  # noqa: S105 - a scheme name
FRESHDESK_BASIC = "freshdeskBasic"
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    TENANT_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "One of the tenant's `api_tokens` (bot file): "
        "`Authorization: Bearer <token>`.",
    },
    ADMIN_TOKEN: {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin API token (`deskhand admin token create`, or "
        "DESKHAND_ADMIN_TOKEN as a bootstrap admin): `Authorization: Bearer <token>`. "
        "Roles: viewer < operator < admin (docs/admin.md).",
    },
    FRESHDESK_BASIC: {
        "type": "http",
        "scheme": "basic",
        "description": "Freshdesk webhooks only: Basic auth whose password is one of "
        "`channels.freshdesk.tokens` (the user name is not checked).",
    },
}


def secured_by(scheme: str) -> dict[str, Any]:
    """``openapi_extra`` for a route that needs this bearer scheme."""
    return {"security": [{scheme: []}]}


class Health(BaseModel):
    status: Literal["ok"]


class ReadyChecks(BaseModel):
    model_config = ConfigDict(extra="allow")

    stores: str = Field(description='"ok", or why the runtime stores are unavailable.')
    knowledge: str = Field(description='"ok", "loading model", or the knowledge base error.')
    model: str = Field(description='"ok", "not configured ...", or "circuit open".')


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unready"] = Field(
        description="degraded: ready, but the model endpoint is off or failing (knowledge-base "
        "answers only); unready comes with a 503."
    )
    checks: ReadyChecks


class TranscriptLine(BaseModel):
    """One transcript entry; bot entries may add answer metadata."""

    model_config = ConfigDict(extra="allow")

    position: int = Field(ge=0)
    author: Author
    text: str
    message_id: str
    at: float = Field(description="Unix time, seconds.")
    citations: list[dict[str, Any]]
    in_reply_to: Any = None
    answers: Any = None
    holding: Any = None
    degraded: Any = None
    escalation: Any = None
    approval: Any = None


class Conversation(BaseModel):
    key: str = Field(description="<tenant>:<channel>:<conversation id>")
    mode: Mode = Field(description="auto: the bot answers; manual: a person owns it.")
    escalation_reason: str | None
    entries: list[TranscriptLine]


class Approval(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    conversation_key: str
    tool: str
    arguments: dict[str, Any]
    reason: str
    customer_id: str
    status: ApprovalStatus
    created_at: float
    decided_by: str | None = None
    note: str | None = None
    decided_at: float | None = None


class Approvals(BaseModel):
    approvals: list[Approval] = Field(description="Pending approvals, oldest first.")


class Decided(BaseModel):
    approval: Approval
    queued: bool = Field(description="The conversation's worker resumes the paused turn.")
