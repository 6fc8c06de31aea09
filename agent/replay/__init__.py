"""Scripted conversation replay: YAML conversations run through the real HTTP path.

``loader`` reads the files (errors name the file, the line and the key), ``runner`` plays
them against one deskhand (``harness``) with the scripted model in front (``model``),
``expectations`` judges each turn, ``report`` and ``junit`` tell the result.
"""

from agent.replay.errors import ReplayError, ReplayFormatError
from agent.replay.format import Conversation, Expectations, Step
from agent.replay.loader import LoadedConversation, load_conversations, load_file

__all__ = [
    "Conversation",
    "Expectations",
    "LoadedConversation",
    "ReplayError",
    "ReplayFormatError",
    "Step",
    "load_conversations",
    "load_file",
]
