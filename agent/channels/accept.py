"""Canonical events → the messages the mailbox queues, with e-mail hygiene applied.

A customer message from an e-mail conversation loses its quoted history and signature
before anything else sees it; an automatic one (an out-of-office, a bounce, another
bot) is ignored, never answered. Ownership changes become ``mode`` messages, queued in
the same mailbox so that they take effect in the order the helpdesk sent them.
"""

from dataclasses import dataclass

from agent.channels.base import AGENT_REPLY, Delivery, EventKind, Ignored, InboundEvent
from agent.channels.email_hygiene import automatic_sender, clean_email_text, looks_automatic
from agent.runtime.models import CUSTOMER_MESSAGE, MODE_CHANGE, InboundMessage
from tools.context import Customer

MAX_TEXT_CHARS = 20_000
NOBODY = Customer(id="")


@dataclass(frozen=True)
class Accepted:
    messages: list[InboundMessage]
    ignored: list[Ignored]


def accepted(tenant: str, channel: str, delivery: Delivery, draft: bool = False) -> Accepted:
    """The messages to queue for a verified delivery, and what was ignored on the way.

    In draft mode people send the bot's drafts themselves: their replies are recorded but
    do not silence the bot (an assignment or a status change still does).
    """
    messages: list[InboundMessage] = []
    ignored = list(delivery.ignored)
    for event in delivery.events:
        if event.kind is EventKind.CUSTOMER:
            message, why = customer_message(tenant, channel, event)
            if message is None:
                ignored.append(Ignored(event.event_id, why))
                continue
            messages.append(message)
        else:
            keep_mode = draft and event.cause == AGENT_REPLY
            messages.append(mode_message(tenant, channel, event, keep_mode))
    return Accepted(messages, ignored)


def customer_message(
    tenant: str, channel: str, event: InboundEvent
) -> tuple[InboundMessage | None, str]:
    if event.auto_submitted or (event.email and _automatic_email(event)):
        return None, "an automatic message (auto-reply, bounce or another bot)"
    text = clean_email_text(event.text) if event.email else event.text.strip()
    if not text:
        return None, "no text left to answer (attachments only, or quoted history only)"
    message = InboundMessage(
        tenant=tenant,
        channel=channel,
        conversation_id=event.conversation_id,
        message_id=event.event_id,
        text=text[:MAX_TEXT_CHARS],
        customer=event.customer or NOBODY,
        kind=CUSTOMER_MESSAGE,
        data={**event.data, "email": event.email} if event.email else dict(event.data),
    )
    return message, ""


def _automatic_email(event: InboundEvent) -> bool:
    sender = event.customer.email if event.customer else None
    return looks_automatic(event.text, event.subject) or automatic_sender(sender or "")


def mode_message(
    tenant: str, channel: str, event: InboundEvent, keep_mode: bool = False
) -> InboundMessage:
    """An ownership change; with ``keep_mode`` only the agent's words are recorded."""
    return InboundMessage(
        tenant=tenant,
        channel=channel,
        conversation_id=event.conversation_id,
        message_id=event.event_id,
        text=event.text.strip()[:MAX_TEXT_CHARS],
        customer=event.customer or NOBODY,
        kind=MODE_CHANGE,
        data={
            **event.data,
            "mode": "" if keep_mode else event.kind.value,
            "reason": event.reason,
            "cause": event.cause,
        },
    )
