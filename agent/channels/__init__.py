"""Inbound channel adapters: verify a delivery, parse it into canonical events, say what to
ignore. Channels only accept and enqueue: they never import the graph.
"""

from agent.channels.base import Channel, ChannelError, PayloadInvalid, SignatureInvalid
from agent.channels.chatwoot import ChatwootChannel
from agent.channels.freshdesk import FreshdeskChannel
from agent.channels.front import FrontChannel
from agent.channels.generic import GenericChannel
from agent.channels.helpscout import HelpScoutChannel
from agent.channels.intercom import IntercomChannel
from agent.channels.sunshine import SunshineChannel
from agent.channels.zendesk import ZendeskChannel

CHANNELS: dict[str, Channel] = {
    channel.name: channel
    for channel in (
        GenericChannel(),
        ChatwootChannel(),
        ZendeskChannel(),
        SunshineChannel(),
        IntercomChannel(),
        FreshdeskChannel(),
        HelpScoutChannel(),
        FrontChannel(),
    )
}

__all__ = ["CHANNELS", "Channel", "ChannelError", "PayloadInvalid", "SignatureInvalid"]
