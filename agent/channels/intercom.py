"""The intercom channel (being written: replaced by the adapter)."""

from collections.abc import Mapping

from agent.channels.base import ChannelNotConfigured, Delivery
from agent.config.botfile import BotConfig


class IntercomChannel:
    name = "intercom"

    def accept(
        self,
        bot: BotConfig,
        headers: Mapping[str, str],
        body: bytes,
        tolerance_s: int,
        query: Mapping[str, str],
    ) -> Delivery:
        raise ChannelNotConfigured("the intercom channel is not available yet")
