"""What every channel adapter provides, and the canonical events they produce.

An adapter turns one webhook delivery into zero or more ``InboundEvent``s:

* ``customer``: a customer wrote (the bot answers);
* ``manual``: a person took the conversation in the helpdesk (an agent replied, it was
  assigned to a person or team, its status changed away from the bot): the bot goes silent;
* ``auto``: the helpdesk gave the conversation back to the bot.

``agent.channels.accept`` turns events into the queued ``InboundMessage``s (after e-mail
hygiene), so the mailbox keeps customer messages and ownership changes in arrival order.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from agent.config.botfile import BotConfig
from agent.errors import DeskhandError
from tools.context import Customer


class ChannelError(DeskhandError):
    """A delivery the channel refuses; ``status_code`` is what the sender gets."""

    status_code = 400


class SignatureInvalid(ChannelError):
    status_code = 401


class PayloadInvalid(ChannelError):
    """Malformed JSON (400) or a body of the wrong shape (422); the message names the problem."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


class ChannelNotConfigured(ChannelError):
    status_code = 404


class EventKind(StrEnum):
    CUSTOMER = "customer"
    MANUAL = "manual"
    AUTO = "auto"


AGENT_REPLY = "agent_reply"  # a person answered in the helpdesk
ASSIGNMENT = "assignment"  # the conversation was assigned to a person or a team
STATUS = "status"  # its status changed away from the bot (or back to it)


@dataclass(frozen=True)
class InboundEvent:
    """One thing that happened in a helpdesk conversation, in the platform's own ids.

    ``conversation_id`` is the id the platform's REST API takes (a Chatwoot display id, a
    Zendesk ticket id, a Front ``cnv_`` id...). ``event_id`` is unique per event and stable
    across the platform's retries (the message id where there is one). ``email`` marks an
    e-mail-sourced message (quoted history and signatures are stripped before the graph
    sees it); ``auto_submitted`` a message the sender's software marked as automatic.
    """

    kind: EventKind
    conversation_id: str
    event_id: str
    text: str = ""
    customer: Customer | None = None
    reason: str = ""  # for manual/auto: what the helpdesk said ("assigned to team 4")
    cause: str = ""  # for manual: AGENT_REPLY, ASSIGNMENT or STATUS
    email: bool = False
    subject: str = ""  # an e-mail's subject, where the payload has one
    auto_submitted: bool = False
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignored:
    """An event deliberately not acted on, and why (reported in the 200, counted)."""

    event_id: str
    reason: str


@dataclass(frozen=True)
class Delivery:
    """One verified webhook delivery, parsed.

    ``response`` replaces the usual acknowledgement body where the platform expects a
    particular answer (Front's ``sync`` challenge); such a delivery is not queued.
    """

    delivery_id: str
    events: list[InboundEvent] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    response: dict[str, Any] | None = None


class Channel(Protocol):
    name: str

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        """Verify, parse and filter one delivery, or raise a ChannelError.

        ``query`` is the webhook URL's query string (``?token=...`` for senders that
        cannot sign).
        """
        ...
