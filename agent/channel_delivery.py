"""Outbox items to the conversation's channel: the generic callback, the tenant's helpdesk
client, or Sunshine Conversations."""

import logging

from agent.delivery import Delivery
from agent.runtime.models import OutboxItem

log = logging.getLogger(__name__)


class ChannelDelivery:
    """Routes outbox items by the channel in the conversation key."""

    def __init__(self, routes: dict[str, Delivery]) -> None:
        self._routes = routes

    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        channel = conversation_key.split(":", 2)[1]
        route = self._routes.get(channel)
        if route is None:
            log.error("no outbound client for channel", extra={"channel": channel})
            return
        await route.deliver(conversation_key, item)
