"""The Freshdesk channel: automation rules' "Trigger webhook" action, with a body we define.

Freshdesk has no webhook subscriptions and signs nothing (helpdesk-webhooks reference §5):
the admin adds a "Trigger webhook" action to a few automation rules, with a shared token
(``bot.channels.freshdesk``: the configured header, Basic auth's password, or ``?token=``
in the URL when ``url_tokens`` are set), and this JSON body (placeholders render as
strings; docs/channels/freshdesk.md):

    {"event": "customer_reply",
     "ticket_id": "{{ticket.id}}", "subject": "{{ticket.subject}}",
     "status": "{{ticket.status}}", "source": "{{ticket.source}}",
     "requester_id": "{{ticket.requester.id}}",
     "requester_email": "{{ticket.requester.email}}",
     "requester_name": "{{ticket.requester.name}}",
     "agent_email": "{{ticket.agent.email}}",
     "latest_public_comment": "{{ticket.latest_public_comment}}"}

``event`` is typed by the admin, one value per rule: ``ticket_created`` and
``customer_reply`` (a customer wrote), ``agent_reply`` (a person answered), ``assigned``
and ``status_changed``. Freshdesk sends no delivery id: the dedupe id is the ticket id,
the event and a hash of the words (or of the new assignee / status).
"""

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from agent.channels import verify
from agent.channels.base import (
    AGENT_REPLY,
    ASSIGNMENT,
    STATUS,
    ChannelNotConfigured,
    Delivery,
    EventKind,
    Ignored,
    InboundEvent,
    PayloadInvalid,
    SignatureInvalid,
)
from agent.channels.html_text import html_to_text
from agent.channels.payload import parse_body
from agent.channels.sync_events import carries_deskhand_marker, owner_first, short_hash
from agent.config.botfile import BotConfig
from agent.config.channels import FreshdeskChannelConfig
from tools.context import Customer

CUSTOMER_EVENTS = ("ticket_created", "customer_reply")
KNOWN_EVENTS = (*CUSTOMER_EVENTS, "agent_reply", "assigned", "status_changed")
# Freshdesk renders {{ticket.status}} as the status name; the REST API uses numbers.
CLOSED_STATUSES = {"resolved", "closed", "4", "5"}
EMAIL_SOURCES = {"email", "1"}
MAX_TEXT_CHARS = 100_000


class FreshdeskBody(BaseModel):
    """The body our documented template renders to (extra keys are allowed and ignored)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    event: str = Field(min_length=1, max_length=64)
    ticket_id: str = Field(default="", max_length=64)
    subject: str = Field(default="", max_length=1000)
    status: str = Field(default="", max_length=64)
    source: str = Field(default="", max_length=64)
    requester_id: str = Field(default="", max_length=64)
    requester_email: str = Field(default="", max_length=320)
    requester_name: str = Field(default="", max_length=300)
    agent_email: str = Field(default="", max_length=320)
    description: str = Field(default="", max_length=MAX_TEXT_CHARS)
    latest_public_comment: str = Field(default="", max_length=MAX_TEXT_CHARS)


class FreshdeskChannel:
    name = "freshdesk"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        config = bot.channels.freshdesk
        if config is None:
            raise ChannelNotConfigured(f"tenant {bot.tenant!r} has no freshdesk channel")
        require_token(config, headers, query)
        return delivery_of(parse_body(FreshdeskBody, body), config)


def require_token(
    config: FreshdeskChannelConfig, headers: Mapping[str, str], query: Mapping[str, str]
) -> None:
    """The rule's token in the configured header, as Basic auth's password, or in the URL."""
    tokens = config.token_values()
    given = [verify.header(headers, config.header), verify.basic_auth_password(headers)]
    offered = [value for value in given if value]
    if tokens and any(verify.any_same(tokens, value) for value in offered):
        return
    if verify.url_token_matches(config.url_token_values(), query):
        return
    if not offered and not query.get("token"):
        raise SignatureInvalid(f"no token: expected the {config.header} header or Basic auth")
    raise SignatureInvalid("the token does not match")


def delivery_of(payload: FreshdeskBody, config: FreshdeskChannelConfig) -> Delivery:
    event = payload.event.strip().lower()
    if event not in KNOWN_EVENTS:
        unknown = f"{payload.ticket_id.strip() or '-'}:{short_hash(event)}"
        return Delivery(unknown, ignored=[Ignored(unknown, f"unknown event {event!r}")])
    ticket_id = ticket_number(payload)
    event_id = f"{ticket_id}:{event}:{short_hash(fingerprint(payload, event))}"
    if event in CUSTOMER_EVENTS:
        return Delivery(event_id, customer_events(payload, ticket_id, event_id, config))
    if event == "agent_reply":
        return agent_reply(payload, ticket_id, event_id)
    if event == "assigned":
        return assignment(payload, ticket_id, event_id, config)
    return status_change(payload, ticket_id, event_id)


def ticket_number(payload: FreshdeskBody) -> str:
    ticket_id = payload.ticket_id.strip()
    if not (ticket_id.isascii() and ticket_id.isdigit()):
        raise PayloadInvalid(f"ticket_id: a Freshdesk ticket number is needed, not {ticket_id!r}")
    return ticket_id


def fingerprint(payload: FreshdeskBody, event: str) -> str:
    """What makes this event differ from the ticket's earlier ones of the same kind."""
    if event == "assigned":
        return payload.agent_email
    if event == "status_changed":
        return payload.status
    return payload.latest_public_comment or payload.description


def comment_text(payload: FreshdeskBody) -> str:
    """The newest public comment (a new ticket's description when there is none yet)."""
    text = payload.latest_public_comment or payload.description
    return html_to_text(text)


def customer_events(
    payload: FreshdeskBody, ticket_id: str, event_id: str, config: FreshdeskChannelConfig
) -> list[InboundEvent]:
    message = InboundEvent(
        kind=EventKind.CUSTOMER,
        conversation_id=ticket_id,
        event_id=event_id,
        text=comment_text(payload),
        customer=customer_of(payload),
        email=payload.source.strip().lower() in EMAIL_SOURCES,
        subject=payload.subject,
    )
    owner = payload.agent_email.strip()
    if owner and not is_bot_agent(owner, config):
        return owner_first(message, ASSIGNMENT, f"assigned to {owner} in Freshdesk")
    return [message]


def customer_of(payload: FreshdeskBody) -> Customer:
    email = payload.requester_email.strip()
    contact_id = payload.requester_id.strip() or email
    if not contact_id:
        raise PayloadInvalid("a customer event needs requester_id or requester_email")
    return Customer(contact_id, email or None, payload.requester_name.strip() or None)


def agent_reply(payload: FreshdeskBody, ticket_id: str, event_id: str) -> Delivery:
    raw = payload.latest_public_comment
    if carries_deskhand_marker(raw):
        return Delivery(event_id, ignored=[Ignored(event_id, "the bot's own reply")])
    manual = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=ticket_id,
        event_id=event_id,
        text=html_to_text(raw),
        reason="an agent replied in Freshdesk",
        cause=AGENT_REPLY,
    )
    return Delivery(event_id, [manual])


def assignment(
    payload: FreshdeskBody, ticket_id: str, event_id: str, config: FreshdeskChannelConfig
) -> Delivery:
    agent = payload.agent_email.strip()
    if not agent or is_bot_agent(agent, config):
        return Delivery(event_id, ignored=[Ignored(event_id, "not assigned to a person")])
    manual = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=ticket_id,
        event_id=event_id,
        reason=f"assigned to {agent} in Freshdesk",
        cause=ASSIGNMENT,
    )
    return Delivery(event_id, [manual])


def status_change(payload: FreshdeskBody, ticket_id: str, event_id: str) -> Delivery:
    status = payload.status.strip()
    if status.lower() not in CLOSED_STATUSES:
        return Delivery(event_id, ignored=[Ignored(event_id, f"status {status!r} keeps the bot")])
    manual = InboundEvent(
        kind=EventKind.MANUAL,
        conversation_id=ticket_id,
        event_id=event_id,
        reason=f"status changed to {status} in Freshdesk",
        cause=STATUS,
    )
    return Delivery(event_id, [manual])


def is_bot_agent(email: str, config: FreshdeskChannelConfig) -> bool:
    return email.lower() in {bot.strip().lower() for bot in config.bot_agent_emails}
