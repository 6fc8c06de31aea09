"""POST /webhooks/{tenant}/{channel}: verify, parse, dedupe, enqueue, answer.

Nothing slow happens here (no model, retrieval or outbound call): the answer goes
out as soon as the queue has confirmed the messages. A store failure is a 503, so the
helpdesk retries the delivery later.
"""

import contextlib
from typing import Any

from fastapi import APIRouter, Request

from agent.api.body import read_limited
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.channels import CHANNELS
from agent.channels.accept import accepted
from agent.channels.base import ChannelError
from agent.metrics import WEBHOOKS
from agent.runtime.models import InboundMessage
from agent.runtime.stores import RuntimeStoreError

router = APIRouter()


@router.post("/webhooks/{tenant}/{channel}")
async def receive_webhook(tenant: str, channel: str, request: Request) -> dict[str, Any]:
    parts = components(request)
    adapter = CHANNELS.get(channel)
    if adapter is None:
        raise ApiError(404, f"unknown channel {channel!r}; known: {', '.join(sorted(CHANNELS))}")
    bot = parts.tenants.get(tenant)
    body = await read_limited(request, parts.settings.max_body_bytes)
    try:
        delivery = adapter.accept(
            bot, request.headers, body, parts.settings.webhook_tolerance_s, request.query_params
        )
    except ChannelError as error:
        WEBHOOKS.labels(channel=channel, result=f"rejected_{error.status_code}").inc()
        raise
    if delivery.response is not None:  # a handshake (Front's sync challenge): nothing to queue
        WEBHOOKS.labels(channel=channel, result="handshake").inc()
        return delivery.response
    batch = accepted(tenant, channel, delivery, draft=bot.channels.reply_mode == "draft")
    ignored = [{"id": item.event_id, "reason": item.reason} for item in batch.ignored]
    if not batch.messages:
        WEBHOOKS.labels(channel=channel, result="ignored").inc()
        return {"status": "ignored", "delivery_id": delivery.delivery_id, "ignored": ignored}
    dedupe_key = f"{tenant}:{channel}:{delivery.delivery_id}"
    if not await parts.runtime.dedupe.claim(dedupe_key, parts.settings.dedupe_ttl_s):
        WEBHOOKS.labels(channel=channel, result="duplicate").inc()
        return {"status": "duplicate", "delivery_id": delivery.delivery_id}
    fresh = await _enqueue(request, dedupe_key, batch.messages)
    if not any(fresh):  # a new delivery id for messages we have
        WEBHOOKS.labels(channel=channel, result="duplicate").inc()
        return {"status": "duplicate", "delivery_id": delivery.delivery_id}
    WEBHOOKS.labels(channel=channel, result="accepted").inc()
    return {
        "status": "queued",
        "delivery_id": delivery.delivery_id,
        "conversations": sorted({m.conversation_key for m in batch.messages}),
        "ignored": ignored,
    }


async def _enqueue(request: Request, dedupe_key: str, messages: list[InboundMessage]) -> list[bool]:
    parts = components(request)
    window_s = parts.settings.coalesce_window_s
    try:
        return [await parts.runtime.mailboxes.append(m, window_s) for m in messages]
    except RuntimeStoreError:
        # Let the sender's retry through (if Redis is down, the claim expires with its TTL).
        with contextlib.suppress(RuntimeStoreError):
            await parts.runtime.dedupe.release(dedupe_key)
        raise
