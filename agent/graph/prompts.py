"""The prompt, laid out for vLLM prefix caching (docs/prompts.md).

1. The system prompt and the tool schemas: they depend only on the tenant's bot file, so
   they are byte-identical across the turns and conversations of a tenant.
2. The history (``agent.graph.history``): a summary of folded turns, then the kept earlier
   turns exactly as they were sent — knowledge, facts and tool exchange included — so that
   each request starts with the whole previous request of the conversation.
3. The newest customer message, then this turn's knowledge passages and per-turn facts
   (who the customer is, today's date) in the same message; then the turn's tool exchange.

A passage or a facts block that the kept history already shows is not repeated: the
passage keeps its number and points back to the text above.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from agent.config.botfile import BotConfig
from agent.graph.history import PromptWindow, SentTurn, Window, plan_window
from agent.graph.state import TurnState
from agent.llm.types import ChatMessage
from agent.runtime.models import Author, TranscriptEntry
from knowledge.types import Passage
from tools.context import Customer

KNOWLEDGE_OPEN = "<knowledge>"
KNOWLEDGE_CLOSE = "</knowledge>"
CONTEXT_OPEN = "<context>"
CONTEXT_CLOSE = "</context>"
SHOWN_ABOVE = "(same text as shown earlier in this conversation)"
HISTORY_ENTRIES = 200
"""Transcript entries a turn's history starts from; the token budget decides what is sent.
Beyond this many the history's start moves every turn, and so does the summary."""

_RULES = """Rules:
- State only facts found in the knowledge passages or in tool results. If they do not \
answer the question, say so and offer to connect the customer with a colleague.
- Cite each passage you use with its number in brackets, like [1]. The numbers are those \
of the <knowledge> block of the customer's newest message.
- The <context> block says who the customer is and what day it is; the customer did not \
write it.
- The customer is already verified. Never ask them to prove who they are, and never \
discuss anyone else's data.
- Use a tool when the question is about the customer's own records (an order, say).
- Answer in the customer's language, briefly and warmly, in plain text."""


class AgentState(TurnState, total=False):
    """The turn's state plus the agent node's private channel, kept by the checkpointer
    across turns (``turn_input`` does not reset it): the history window as last sent."""

    prompt_window: PromptWindow


def system_prompt(bot: BotConfig) -> ChatMessage:
    text = f"{bot.persona.strip()}\n\nYou work for {bot.company}.\n\n{_RULES}"
    return ChatMessage(role="system", content=text)


def history_messages(entries: Sequence[TranscriptEntry]) -> list[ChatMessage]:
    """The conversation so far as chat messages: the customer messages one turn answered
    joined into one (as that turn's message was), the bot's and operators' as assistant."""
    entries = list(entries)[-HISTORY_ENTRIES:]
    texts = {e.message_id: e.text for e in entries if e.author is Author.CUSTOMER}
    group_of = _answer_groups(entries, texts)
    messages: list[ChatMessage] = []
    done: set[str] = set()
    for entry in entries:
        if entry.author is not Author.CUSTOMER:
            messages.append(ChatMessage(role="assistant", content=entry.text))
        elif entry.message_id not in done:
            group = group_of.get(entry.message_id, [entry.message_id])
            done.update(group)
            messages.append(ChatMessage(role="user", content="\n".join(texts[m] for m in group)))
    return messages


def _answer_groups(
    entries: Sequence[TranscriptEntry], texts: dict[str, str]
) -> dict[str, list[str]]:
    """Customer message id -> the ids of the messages the same bot reply answered."""
    groups: dict[str, list[str]] = {}
    for entry in entries:
        answers = entry.meta.get("answers") if entry.author is Author.BOT else None
        if isinstance(answers, list):
            group = [str(m) for m in answers if str(m) in texts]
            for message_id in group:
                groups.setdefault(message_id, group)
    return groups


def turn_facts(
    customer: Customer | None, today: date, remembered: Mapping[str, str] | None = None
) -> str:
    """The per-turn facts block: the verified customer, what the conversation already
    established (an order number, an e-mail: not to be asked again) and today's date."""
    lines = [_customer_line(customer)] if customer is not None else []
    if remembered:
        known = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(remembered.items()))
        lines.append(f"Mentioned earlier: {known}")
    lines.append(f"Today: {today.strftime('%A')} {today.isoformat()} (UTC)")
    return "\n".join([CONTEXT_OPEN, *lines, CONTEXT_CLOSE])


def _customer_line(customer: Customer) -> str:
    email = f"<{customer.email}>" if customer.email else None
    name = " ".join(part for part in (customer.name, email) if part)
    details = [f"customer id {customer.id}"]
    if customer.locale:
        details.append(f"locale {customer.locale}")
    return "Customer: " + ", ".join([name, *details] if name else details)


def customer_turn(
    message: str, passages: Sequence[Passage], facts: str = "", shown: str = ""
) -> ChatMessage:
    """The newest customer message, then this turn's passages, then the facts.

    A passage whose text ``shown`` (the history being sent) already contains is listed by
    number and title only; so are facts identical to a block in ``shown``.
    """
    parts = [message]
    if passages:
        blocks = [_passage_block(i, p, shown) for i, p in enumerate(passages, start=1)]
        parts.append(f"{KNOWLEDGE_OPEN}\n" + "\n\n".join(blocks) + f"\n{KNOWLEDGE_CLOSE}")
    if facts and facts not in shown:
        parts.append(facts)
    return ChatMessage(role="user", content="\n\n".join(parts))


def _passage_block(number: int, passage: Passage, shown: str) -> str:
    body = f"{_label(passage)}\n{passage.text.strip()}"
    if body in shown:
        return f"[{number}] {_label(passage)} {SHOWN_ABOVE}"
    return f"[{number}] {body}"


def _label(passage: Passage) -> str:
    return f"{passage.title} › {passage.heading}" if passage.heading else passage.title


@dataclass(frozen=True)
class Prompt:
    """A turn's messages before its tool exchange, and the window they were built on."""

    messages: list[ChatMessage]
    window: Window
    said: str

    def window_after(self, exchange: Sequence[ChatMessage]) -> PromptWindow:
        """What to keep for the next turn once this one is answered after ``exchange``."""
        sent = [self.messages[-1], *(replace(m, reasoning=None) for m in exchange)]
        return self.window.stored(SentTurn(said=self.said, messages=sent))


def build_prompt(bot: BotConfig, state: AgentState, today: date | None = None) -> Prompt:
    """System prompt, history within the tenant's budget, then the customer's turn."""
    window = plan_window(
        state.get("history", []), state.get("prompt_window"), bot.model.history_token_budget
    )
    history = window.messages()
    shown = "\n".join(message.content or "" for message in history)
    memory = state.get("memory")
    remembered = memory.facts if memory is not None else None
    facts = turn_facts(state.get("customer"), today or datetime.now(UTC).date(), remembered)
    turn = customer_turn(state["message"], state.get("passages", []), facts, shown)
    return Prompt([system_prompt(bot), *history, turn], window, state["message"])
