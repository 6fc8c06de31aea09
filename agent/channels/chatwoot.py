"""The chatwoot channel (being written: replaced by the adapter)."""

from collections.abc import Mapping

from agent.channels.base import ChannelNotConfigured, Delivery
from agent.config.botfile import BotConfig


class ChatwootChannel:
    name = "chatwoot"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        raise ChannelNotConfigured("the chatwoot channel is not available yet")
