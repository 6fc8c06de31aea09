"""POST /webhooks/{tenant}/{channel}: verify, parse, dedupe, enqueue, answer.

Nothing slow happens here (no model, retrieval or outbound call): the answer goes
out as soon as the queue has confirmed the messages.
"""

from typing import Any

from fastapi import APIRouter, Request

from agent.api.body import read_limited
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.channels import CHANNELS
from agent.channels.base import ChannelError
from agent.metrics import WEBHOOKS
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
        delivery = adapter.accept(bot, request.headers, body, parts.settings.webhook_tolerance_s)
    except ChannelError as error:
        WEBHOOKS.labels(channel=channel, result=f"rejected_{error.status_code}").inc()
        raise
    dedupe_key = f"{tenant}:{channel}:{delivery.delivery_id}"
    if not await parts.runtime.dedupe.claim(dedupe_key, parts.settings.dedupe_ttl_s):
        WEBHOOKS.labels(channel=channel, result="duplicate").inc()
        return {"status": "duplicate", "delivery_id": delivery.delivery_id}
    window_s = parts.settings.coalesce_window_s
    try:
        fresh = [await parts.runtime.mailboxes.append(m, window_s) for m in delivery.messages]
    except RuntimeStoreError:
        await parts.runtime.dedupe.release(dedupe_key)  # let the sender's retry through
        raise
    if delivery.messages and not any(fresh):  # a new delivery id for messages we have
        WEBHOOKS.labels(channel=channel, result="duplicate").inc()
        return {"status": "duplicate", "delivery_id": delivery.delivery_id}
    WEBHOOKS.labels(channel=channel, result="accepted").inc()
    return {
        "status": "queued",
        "delivery_id": delivery.delivery_id,
        "conversations": sorted({m.conversation_key for m in delivery.messages}),
        "ignored": delivery.ignored,
    }
