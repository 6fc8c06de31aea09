"""What every channel adapter provides."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from agent.config.botfile import BotConfig
from agent.errors import DeskhandError
from agent.runtime.models import InboundMessage


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


@dataclass(frozen=True)
class Delivery:
    """One verified webhook delivery, parsed."""

    delivery_id: str
    messages: list[InboundMessage]
    ignored: int = 0


class Channel(Protocol):
    name: str

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
    ) -> Delivery:
        """Verify, parse and filter one delivery, or raise a ChannelError."""
        ...
