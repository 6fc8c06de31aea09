"""The prompt, laid out for vLLM prefix caching.

The system prompt depends only on the tenant's bot file, so it is byte-identical
across the turns and conversations of a tenant; the tool schemas travel with it.
History follows. Retrieved passages go last, inside the newest customer message.
"""

from collections.abc import Sequence

from agent.config.botfile import BotConfig
from agent.llm.types import ChatMessage
from agent.runtime.models import Author, TranscriptEntry
from knowledge.types import Passage

KNOWLEDGE_OPEN = "<knowledge>"
KNOWLEDGE_CLOSE = "</knowledge>"
HISTORY_ENTRIES = 20

_RULES = """Rules:
- State only facts found in the knowledge passages or in tool results. If they do not \
answer the question, say so and offer to connect the customer with a colleague.
- Cite each passage you use with its number in brackets, like [1].
- The customer is already verified. Never ask them to prove who they are, and never \
discuss anyone else's data.
- Use a tool when the question is about the customer's own records (an order, say).
- Answer in the customer's language, briefly and warmly, in plain text."""


def system_prompt(bot: BotConfig) -> ChatMessage:
    text = f"{bot.persona.strip()}\n\nYou work for {bot.company}.\n\n{_RULES}"
    return ChatMessage(role="system", content=text)


def history_messages(entries: Sequence[TranscriptEntry]) -> list[ChatMessage]:
    """The conversation so far as chat messages (the newest ``HISTORY_ENTRIES``)."""
    messages = []
    for entry in list(entries)[-HISTORY_ENTRIES:]:
        if entry.author is Author.CUSTOMER:
            messages.append(ChatMessage(role="user", content=entry.text))
        else:
            messages.append(ChatMessage(role="assistant", content=entry.text))
    return messages


def customer_turn(message: str, passages: Sequence[Passage]) -> ChatMessage:
    """The newest customer message with this turn's passages appended."""
    if not passages:
        return ChatMessage(role="user", content=message)
    blocks = [f"[{i}] {_label(p)}\n{p.text.strip()}" for i, p in enumerate(passages, start=1)]
    knowledge = "\n\n".join(blocks)
    content = f"{message}\n\n{KNOWLEDGE_OPEN}\n{knowledge}\n{KNOWLEDGE_CLOSE}"
    return ChatMessage(role="user", content=content)


def _label(passage: Passage) -> str:
    return f"{passage.title} › {passage.heading}" if passage.heading else passage.title
