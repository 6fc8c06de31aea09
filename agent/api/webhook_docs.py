"""The OpenAPI description of ``POST /webhooks/{tenant}/{channel}``.

The route reads the raw body itself (the signature covers its exact bytes), so FastAPI
cannot infer the body, the headers or the answers: ``ROUTE`` gives them to the decorator
(``@router.post(..., **ROUTE)``) and ``refine`` turns the ``channel`` path parameter into
the list of channels once the document is built.
"""

import copy
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.api.schemas import FRESHDESK_BASIC, error_responses
from agent.api.webhook_examples import EXAMPLES, FRONT_SYNC
from agent.config.botfile import TENANT_ID

WEBHOOK_PATH = "/webhooks/{tenant}/{channel}"

# (header, channel, description): every header some platform authenticates a delivery with.
SIGNATURE_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("webhook-id", "generic", "Standard Webhooks: the delivery id (also the dedupe key)."),
    ("webhook-timestamp", "generic", "Standard Webhooks: unix seconds, signed."),
    (
        "webhook-signature",
        "generic",
        "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256(key, "
        '"{id}.{timestamp}.{body}")>`, the key being the base64 after `whsec_`.',
    ),
    (
        "X-Chatwoot-Signature",
        "chatwoot",
        'Chatwoot: `sha256=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>` (agent bot '
        "or API inbox secret). Instances that do not sign use `?token=`.",
    ),
    ("X-Chatwoot-Timestamp", "chatwoot", "Chatwoot: unix seconds, signed."),
    ("X-Chatwoot-Delivery", "chatwoot", "Chatwoot: delivery UUID, the same on retries."),
    (
        "X-Zendesk-Webhook-Signature",
        "zendesk",
        "Zendesk: `base64(HMAC-SHA256(signing secret, timestamp + body))`, no separator.",
    ),
    (
        "X-Zendesk-Webhook-Signature-Timestamp",
        "zendesk",
        "Zendesk: ISO-8601 time (`2026-03-25T05:09:27Z`), signed.",
    ),
    ("X-Zendesk-Webhook-Invocation-Id", "zendesk", "Zendesk: the invocation id (dedupe)."),
    (
        "X-API-Key",
        "sunshine",
        "Sunshine Conversations: the webhook's shared secret (no signature exists).",
    ),
    (
        "X-Hub-Signature",
        "intercom",
        "Intercom: `sha1=<hex HMAC-SHA1(client_secret, body)>`.",
    ),
    (
        "X-Deskhand-Token",
        "freshdesk",
        "Freshdesk (which does not sign): the shared token the automation rule sends; the "
        "header name is `channels.freshdesk.header`. Or Basic auth with the token as "
        "password (security scheme `freshdeskBasic`).",
    ),
    (
        "X-HelpScout-Signature",
        "helpscout",
        "Help Scout: `base64(HMAC-SHA1(secret, body))`.",
    ),
    (
        "X-HelpScout-Event",
        "helpscout",
        "Help Scout: the event name (`convo.customer.reply.created`, `helpscout.test`...).",
    ),
    (
        "X-Front-Signature",
        "front",
        'Front application webhook: `base64(HMAC-SHA256(signing key, "{timestamp}:" + body))`.',
    ),
    ("X-Front-Request-Timestamp", "front", "Front: unix milliseconds, signed."),
    (
        "X-Front-Challenge",
        "front",
        'Front: the validation challenge of a `sync` delivery, echoed as {"challenge": ...}.',
    ),
)


class IgnoredEvent(BaseModel):
    id: str = Field(description="The platform's event or message id.")
    reason: str = Field(description="Why it was not acted on (the bot's own message, a note...).")


class WebhookAnswer(BaseModel):
    """The acknowledgement: the delivery was verified and handled."""

    status: Literal["queued", "duplicate", "ignored"] = Field(
        description="queued: messages are in their conversations' mailboxes; duplicate: this "
        "delivery (or these messages) arrived before; ignored: nothing to act on."
    )
    delivery_id: str = Field(description="The dedupe id (the platform's delivery or event id).")
    conversations: list[str] = Field(
        default_factory=list, description="queued: the conversation keys that got messages."
    )
    ignored: list[IgnoredEvent] = Field(
        default_factory=list, description="Events deliberately not acted on, and why."
    )


class FrontChallenge(BaseModel):
    """Front's validation handshake (`sync` delivery): the challenge echoed back."""

    challenge: str


DESCRIPTION = """\
A helpdesk delivers an event. The channel's adapter verifies the delivery (signature,
replay window, shared token), parses it into canonical events, drops what must be ignored
(the bot's own messages, private notes, conversations a person owns) and the route queues
the rest in per-conversation mailboxes. Nothing slow happens here: the answer goes out as
soon as the queue confirmed the messages; the reply is posted later through the
helpdesk's REST API.

**Authentication** depends on the channel: send the headers of your platform (below).
Only the headers of the path's channel are read. The chatwoot and freshdesk channels
also accept `?token=<token>` when their config lists `url_tokens` (senders that cannot
sign).

**The tenant's bot file** must configure the channel (`channels.<channel>`), else 404.
Unknown event types are acknowledged (`ignored`) so the platform does not retry them.
A store failure answers 503 so the platform retries later.
"""


def _header_parameter(name: str, channel: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": f"[{channel}] {description}",
        "schema": {"type": "string"},
    }


TOKEN_PARAMETER: dict[str, Any] = {
    "name": "token",
    "in": "query",
    "required": False,
    "description": "A URL token from `channels.<channel>.url_tokens`, for senders that cannot "
    "sign: the chatwoot channel (instances that do not sign) and the freshdesk channel "
    "accept it; the others require their signature.",
    "schema": {"type": "string"},
}


def _body_examples() -> dict[str, dict[str, Any]]:
    examples = {
        channel: {"summary": f"{channel}: a customer wrote", "value": body}
        for channel, body in EXAMPLES.items()
    }
    examples["front_sync"] = {"summary": "front: the validation challenge", "value": FRONT_SYNC}
    return examples


REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The platform's own JSON, byte for byte as it was signed (at most "
    "DESKHAND_MAX_BODY_BYTES). See each channel's example.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": True},
            "examples": _body_examples(),
        }
    },
}

ROUTE: dict[str, Any] = {
    "summary": "Receive a helpdesk webhook delivery",
    "description": DESCRIPTION,
    "tags": ["webhooks"],
    "response_model": None,
    "responses": {
        200: {
            "model": WebhookAnswer | FrontChallenge,
            "description": "Accepted: queued, duplicate or ignored (or Front's challenge).",
        },
        **error_responses(
            400,
            401,
            404,
            413,
            422,
            503,
            meanings={
                400: "The body is not JSON, or an event header the platform always sends is "
                "missing (X-HelpScout-Event; X-Front-Challenge on Front's sync request).",
                401: "The signature, shared key or token is missing, wrong or outside the "
                "replay window.",
                404: "Unknown tenant or channel, or the tenant has not configured this channel.",
                422: "Valid JSON of the wrong shape for a known event type.",
                503: "The runtime store is unavailable: the platform should retry.",
            },
        ),
    },
    "openapi_extra": {
        "parameters": [
            *(_header_parameter(*header) for header in SIGNATURE_HEADERS),
            TOKEN_PARAMETER,
        ],
        "requestBody": REQUEST_BODY,
        # No scheme is required (the signature headers are per channel); Freshdesk may
        # authenticate with Basic auth instead of its token header.
        "security": [{}, {FRESHDESK_BASIC: []}],
    },
}


def refine(spec: dict[str, Any], channels: list[str]) -> None:
    """Describe the path parameters (FastAPI only knows they are strings) and restore the
    examples' nulls (FastAPI drops every None from the document)."""
    operation = spec["paths"][WEBHOOK_PATH]["post"]
    operation["requestBody"] = copy.deepcopy(REQUEST_BODY)
    for parameter in operation["parameters"]:
        if parameter["name"] == "channel" and parameter["in"] == "path":
            parameter["schema"] = {"type": "string", "enum": channels}
            parameter["description"] = "The helpdesk (or generic) channel of the delivery."
        elif parameter["name"] == "tenant" and parameter["in"] == "path":
            parameter["schema"] = {"type": "string", "pattern": TENANT_ID.pattern}
            parameter["description"] = "The tenant id (its bot file's `tenant`)."
