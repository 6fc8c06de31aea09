"""Inbound channel adapters: verify a delivery, parse it into InboundMessages, say what to ignore.

Channels only accept and enqueue: they never import the graph.
"""

from agent.channels.base import Channel, ChannelError, PayloadInvalid, SignatureInvalid
from agent.channels.generic import GenericChannel

CHANNELS: dict[str, Channel] = {"generic": GenericChannel()}

__all__ = ["CHANNELS", "Channel", "ChannelError", "PayloadInvalid", "SignatureInvalid"]
