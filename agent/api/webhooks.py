"""POST /webhooks/{tenant}/{channel}: verify, parse, dedupe, enqueue, answer.

Nothing slow happens here (no model, retrieval or outbound call): the answer goes
out as soon as the queue has confirmed the messages (``Intake.accept``: the delivery id
and its messages in one durable step, batched with concurrent requests' on Redis). A store
failure is a 503 and leaves no claim behind, so the helpdesk's retry is accepted.
"""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from agent.api.body import read_limited
from agent.api.deps import components
from agent.api.errors import ApiError, status_for
from agent.api.webhook_docs import ROUTE as WEBHOOK_ROUTE_DOCS
from agent.api.webhook_docs import WEBHOOK_PATH
from agent.channels import CHANNELS
from agent.channels.accept import accepted
from agent.components import Components
from agent.errors import DeskhandError
from agent.metrics import WEBHOOKS
from agent.webhook_rejections import UNKNOWN_TENANT, count_rejection

router = APIRouter()


@router.post(WEBHOOK_PATH, **WEBHOOK_ROUTE_DOCS)
async def receive_webhook(tenant: str, channel: str, request: Request) -> JSONResponse:
    """The documented route. ``agent.api.webhook_fast_path`` serves the same handler ahead
    of FastAPI's routing; this route serves it where the fast path is not installed."""
    return await handle_webhook(request, tenant, channel)


async def handle_webhook(request: Request, tenant: str, channel: str) -> JSONResponse:
    """Verify, parse, dedupe, enqueue, answer; a refusal raises a DeskhandError, counted
    by cause (agent.webhook_rejections)."""
    parts = components(request)
    try:
        return await _handle(request, parts, tenant, channel)
    except Exception as error:
        status = status_for(error) if isinstance(error, DeskhandError) else 500
        known = tenant if tenant in parts.tenants else UNKNOWN_TENANT
        count_rejection(parts.rejections, known, channel, status)
        raise


async def _handle(request: Request, parts: Components, tenant: str, channel: str) -> JSONResponse:
    adapter = CHANNELS.get(channel)
    if adapter is None:
        raise ApiError(404, f"unknown channel {channel!r}; known: {', '.join(sorted(CHANNELS))}")
    bot = parts.tenants.get(tenant)
    body = await read_limited(request, parts.settings.max_body_bytes)
    delivery = adapter.accept(
        bot, request.headers, body, parts.settings.webhook_tolerance_s, request.query_params
    )
    if delivery.response is not None:  # a handshake (Front's sync challenge): nothing to queue
        WEBHOOKS.labels(channel=channel, result="handshake").inc()
        return JSONResponse(delivery.response)
    batch = accepted(tenant, channel, delivery, draft=bot.channels.reply_mode == "draft")
    ignored = [{"id": item.event_id, "reason": item.reason} for item in batch.ignored]
    if not batch.messages:
        WEBHOOKS.labels(channel=channel, result="ignored").inc()
        return _answer("ignored", delivery.delivery_id, ignored=ignored)
    dedupe_key = f"{tenant}:{channel}:{delivery.delivery_id}"
    # One atomic step: the delivery id is claimed with its messages, or nothing is written
    # and the RuntimeStoreError becomes a 503 (the helpdesk retries).
    result = await parts.runtime.intake.accept(
        dedupe_key, parts.settings.dedupe_ttl_s, batch.messages, parts.settings.coalesce_window_s
    )
    if not result.queued:  # a repeated delivery id, or a new one for messages we have
        WEBHOOKS.labels(channel=channel, result="duplicate").inc()
        return _answer("duplicate", delivery.delivery_id)
    WEBHOOKS.labels(channel=channel, result="accepted").inc()
    conversations = sorted({m.conversation_key for m in batch.messages})
    return _answer("queued", delivery.delivery_id, conversations=conversations, ignored=ignored)


def _answer(status: str, delivery_id: str, **more: Any) -> JSONResponse:
    """The JSON answer as is (no response model to validate it against: the fast path)."""
    return JSONResponse({"status": status, "delivery_id": delivery_id, **more})
