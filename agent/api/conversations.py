"""GET /v1/conversations/{key}: a conversation's transcript, for the tenant's own clients."""

from typing import Any

from fastapi import APIRouter, Query, Request

from agent.api.deps import components, require_tenant_token
from agent.api.errors import ApiError
from agent.api.schemas import TENANT_TOKEN, Conversation, error_responses, secured_by
from agent.runtime.models import Mode, TranscriptEntry

router = APIRouter()

# Bounds ``after`` below what the stores take (Redis and SQLite integers are 64-bit).
MAX_POSITION = 1_000_000_000
_PUBLIC_META = ("in_reply_to", "answers", "holding", "degraded", "escalation", "approval")


@router.get(
    "/v1/conversations/{key:path}",
    summary="A conversation's transcript",
    tags=["conversations"],
    response_model=None,
    responses={
        200: {"model": Conversation, "description": "The transcript (entries after `after`)."},
        **error_responses(
            401,
            404,
            422,
            503,
            meanings={
                401: "Missing or invalid bearer token (one of the tenant's api_tokens).",
                404: "Unknown tenant, or no such conversation.",
            },
        ),
    },
    openapi_extra=secured_by(TENANT_TOKEN),
)
async def get_conversation(
    key: str,
    request: Request,
    after: int = Query(
        default=-1, ge=-1, le=MAX_POSITION, description="Only entries after this position."
    ),
) -> dict[str, Any]:
    """The transcript of ``<tenant>:<channel>:<conversation id>`` (the key may hold ``/``),
    its mode (auto or manual) and why it was escalated, for the tenant's own clients."""
    parts = components(request)
    tenant = key.split(":", 1)[0]
    bot = parts.tenants.get(tenant)
    require_tenant_token(request, bot)
    state, entries = await parts.runtime.transcripts.read(key, after)
    if state is None and not entries and after < 0:
        raise ApiError(404, f"no conversation {key!r}")
    return {
        "key": key,
        "mode": (state.mode if state else Mode.AUTO).value,
        "escalation_reason": state.escalation_reason if state else None,
        "entries": [_public(after + 1 + i, entry) for i, entry in enumerate(entries)],
    }


def _public(position: int, entry: TranscriptEntry) -> dict[str, Any]:
    """The entry without internal fields (the turn trace and the model's reasoning)."""
    data: dict[str, Any] = {
        "position": position,
        "author": entry.author.value,
        "text": entry.text,
        "message_id": entry.message_id,
        "at": entry.at,
        "citations": list(entry.citations),
    }
    data.update({k: entry.meta[k] for k in _PUBLIC_META if k in entry.meta})
    return data
