"""The conversation history the model sees: whole earlier turns, as sent, within a token budget.

vLLM reuses the cached prefix of a prompt only up to the first token that differs, so each
earlier turn is replayed exactly as it was sent: the customer's message with the knowledge
and facts that came with it, then the tool exchange, then the reply. What was sent is kept
by the checkpointer in the agent node's private ``prompt_window`` channel (the transcript
keeps only the words, and the trace is redacted); a turn without such a record (no
checkpointer, a degraded turn) is replayed with the words alone.

Budget: the history (summary and kept turns) stays within ``model.history_token_budget``
estimated tokens. When it would not, the window moves: the oldest kept turns are folded
into one deterministic "Earlier in this conversation: …" message until the kept turns fill
at most ``LOW_WATER`` of the budget (the summary itself gets at most ``SUMMARY_SHARE``).
The summary and the window start are stored with the records, so both stay byte-identical
from turn to turn until the next move. With turns of T tokens the window first moves after
about budget / T turns, then about every budget * (1 - LOW_WATER - SUMMARY_SHARE) / T
turns; only the request after a move misses the cache beyond the system prompt and tools.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from agent.llm.types import ChatMessage

LOW_WATER = 0.5
"""After a move the kept turns fill at most this share of the budget (the rest is room to
grow before the next move: a lower value means rarer moves, but less verbatim context)."""

SUMMARY_SHARE = 0.15
"""The summary lists the newest folded exchanges that fit this share of the budget."""

SUMMARY_SAID_CHARS = 200
SUMMARY_REPLY_CHARS = 240
SUMMARY_HEADING = "Earlier in this conversation:"
SUMMARY_FOOTER = "(The knowledge passages and tool results of those turns are not repeated.)"
_NOT_LISTED_TOKENS = 12  # "(N earlier exchanges are not listed.)"

_MESSAGE_OVERHEAD = 4  # <|im_start|>role\n … <|im_end|>\n
_CALL_OVERHEAD = 12  # <tool_call><function=…><parameter=…> markup around each call


def estimate_tokens(text: str) -> int:
    """About one token per 4 bytes of UTF-8 (no tokenizer needed).

    That is 4 characters of English or code, a little fewer of accented Latin text (2
    bytes per accented letter) and 1.3 of CJK (3 bytes a character): about the ratios of a
    large-vocabulary BPE such as Qwen's, erring a little high.
    """
    return (len(text.encode("utf-8")) + 3) // 4


def message_tokens(message: ChatMessage) -> int:
    """A message's estimated tokens, with the chat template's markup around it."""
    total = _MESSAGE_OVERHEAD + estimate_tokens(message.content or "")
    for call in message.tool_calls:
        total += _CALL_OVERHEAD + estimate_tokens(call.name + str(call.arguments))
    return total


def messages_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(message_tokens(message) for message in messages)


@dataclass(frozen=True)
class Turn:
    """One earlier turn: the customer's message (``said``, None for messages before the
    first one) and the messages after it, up to the next customer message."""

    said: str | None
    messages: tuple[ChatMessage, ...]


def split_turns(history: Sequence[ChatMessage]) -> list[Turn]:
    """The history cut before each customer (``user``) message."""
    turns: list[Turn] = []
    current: list[ChatMessage] = []
    for message in history:
        if message.role == "user" and current:
            turns.append(_turn(current))
            current = []
        current.append(message)
    if current:
        turns.append(_turn(current))
    return turns


def _turn(messages: list[ChatMessage]) -> Turn:
    first = messages[0]
    said = (first.content or "") if first.role == "user" else None
    return Turn(said, tuple(messages))


class SentTurn(TypedDict):
    """How one turn was sent: the customer's message with its knowledge and facts, then
    the tool exchange (without reasoning, which the chat template drops from older turns)."""

    said: str
    messages: list[ChatMessage]


class PromptWindow(TypedDict):
    """What the agent node keeps between turns (checkpointed): the summary as sent, how
    many of the history's turns it covers, the first kept turn's words (a check that the
    history is the one the window was computed on) and the kept turns as sent."""

    summary: str
    summarised: int
    first_said: str | None
    sent: list[SentTurn]


@dataclass(frozen=True)
class Window:
    """The history to send: the summary (empty: none) and the kept turns, rendered."""

    summary: str
    summarised: int
    kept: tuple[tuple[Turn, SentTurn | None], ...]  # each turn with the record it came from

    def messages(self) -> list[ChatMessage]:
        head = [ChatMessage(role="user", content=self.summary)] if self.summary else []
        return head + [message for turn, _ in self.kept for message in turn.messages]

    def stored(self, new: SentTurn | None) -> PromptWindow:
        """The window to keep for the next turn, with this turn's record when it has one."""
        sent = [record for _, record in self.kept if record is not None]
        if new is not None:
            sent.append(new)
        first = self.kept[0][0].said if self.kept else None
        return PromptWindow(
            summary=self.summary, summarised=self.summarised, first_said=first, sent=sent
        )


def plan_window(history: Sequence[ChatMessage], stored: PromptWindow | None, budget: int) -> Window:
    """The history within ``budget`` tokens, continuing the window stored last turn."""
    turns = split_turns(history)
    start, summary = _continued(turns, stored)
    kept = _render(turns[start:], stored["sent"] if stored else [])
    sizes = [messages_tokens(turn.messages) for turn, _ in kept]
    if estimate_tokens(summary) + sum(sizes) > budget:
        dropped = _to_drop(sizes, int(budget * LOW_WATER))
        start += dropped
        kept = kept[dropped:]
        summary = summarise(turns[:start], int(budget * SUMMARY_SHARE))
    return Window(summary, start, tuple(kept))


def _continued(turns: Sequence[Turn], stored: PromptWindow | None) -> tuple[int, str]:
    """Where the stored window starts in ``turns``, and its summary; (0, "") when the
    stored window does not fit this history (none stored, or another history)."""
    if stored is None:
        return 0, ""
    start = stored["summarised"]
    if start > len(turns):
        return 0, ""
    expected = stored["first_said"]
    if expected is not None and (start == len(turns) or turns[start].said != expected):
        return 0, ""
    return start, stored["summary"]


def _render(
    turns: Sequence[Turn], records: Sequence[SentTurn]
) -> list[tuple[Turn, SentTurn | None]]:
    """Each turn as sent when a record of it is left (matched in order by the customer's
    words), else as it is in the history."""
    rendered: list[tuple[Turn, SentTurn | None]] = []
    position = 0
    for turn in turns:
        found = _find(records, position, turn.said)
        if found is None:
            rendered.append((turn, None))
            continue
        record = records[found]
        position = found + 1
        as_sent = Turn(turn.said, (*record["messages"], *turn.messages[1:]))
        rendered.append((as_sent, record))
    return rendered


def _find(records: Sequence[SentTurn], start: int, said: str | None) -> int | None:
    if said is None:
        return None
    for index in range(start, len(records)):
        if records[index]["said"] == said:
            return index
    return None


def _to_drop(sizes: Sequence[int], room: int) -> int:
    """How many of the oldest turns to fold so that the rest fit within ``room``."""
    remaining = sum(sizes)
    dropped = 0
    while dropped < len(sizes) and remaining > room:
        remaining -= sizes[dropped]
        dropped += 1
    return dropped


def summarise(turns: Sequence[Turn], max_tokens: int) -> str:
    """One compact, deterministic note of the folded turns ("" when there are none): the
    customer's words and the replies, each cut short, the newest that fit ``max_tokens``."""
    exchanges = [lines for lines in map(_exchange_lines, turns) if lines]
    if not exchanges:
        return ""
    shown: list[list[str]] = []
    room = max_tokens - estimate_tokens(SUMMARY_HEADING + SUMMARY_FOOTER) - _NOT_LISTED_TOKENS
    for lines in reversed(exchanges):
        room -= estimate_tokens("\n".join(lines)) + 1
        if room < 0 and shown:
            break
        shown.insert(0, lines)
    parts = [SUMMARY_HEADING]
    if len(exchanges) > len(shown):
        parts.append(f"({len(exchanges) - len(shown)} earlier exchanges are not listed.)")
    parts += [line for lines in shown for line in lines]
    parts.append(SUMMARY_FOOTER)
    return "\n".join(parts)


def _exchange_lines(turn: Turn) -> list[str]:
    lines = []
    if turn.said:
        lines.append(f"- Customer: {_clip(turn.said, SUMMARY_SAID_CHARS)}")
    replies = [m.content for m in turn.messages[1:] if m.role == "assistant" and m.content]
    if replies:
        lines.append(f"  Assistant: {_clip(' '.join(replies), SUMMARY_REPLY_CHARS)}")
    return lines


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rsplit(" ", 1)[0] + "…"
