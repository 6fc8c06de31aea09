"""When the bot must stop talking by itself: another bot or an auto-responder on the line.

Two signs, read from the conversation's transcript (the claimed customer messages are in
it already) just before the bot would reply:

- more than ``max_bot_turns`` bot replies in a row with no customer message in between
  (holding replies, approval decisions and operator actions add bot turns without one);
  the reply about to be written counts;
- in an e-mail conversation, ``fast_replies`` customer messages in a row each of which
  came within ``fast_reply_s`` of the bot's reply before it: a machine answering.

Either way a person takes over (``agent.turns`` hands the conversation off).
"""

from collections.abc import Sequence

from agent.config.channels import LoopGuardConfig
from agent.delivery import HANDOFF
from agent.runtime.models import (
    Author,
    Claim,
    ConversationState,
    Mode,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
)

REPLY_LOOP = "reply_loop"
SUMMARY_QUOTE_CHARS = 300


def loop_reason(
    entries: Sequence[TranscriptEntry], guard: LoopGuardConfig, email: bool = False
) -> str | None:
    """Why the bot must not reply now, or None when it may."""
    run = bot_turns_since_customer(entries)
    if run + 1 > guard.max_bot_turns:
        return f"{run + 1} bot replies in a row without a customer message"
    if email:
        fast = fast_customer_replies(entries, guard.fast_reply_s)
        if fast >= guard.fast_replies:
            return (
                f"{fast} customer messages in a row came within {guard.fast_reply_s:g} s "
                "of the bot's reply (an auto-responder?)"
            )
    return None


def bot_turns_since_customer(entries: Sequence[TranscriptEntry]) -> int:
    """The bot's entries after the last customer message."""
    run = 0
    for entry in reversed(entries):
        if entry.author is Author.CUSTOMER:
            break
        if entry.author is Author.BOT:
            run += 1
    return run


def fast_customer_replies(entries: Sequence[TranscriptEntry], within_s: float) -> int:
    """How many of the latest customer messages in a row each answered a bot reply within
    ``within_s``. A customer message that answers no bot reply (a second message after
    the same reply, or one after a person's words) ends the run."""
    run = 0
    previous: TranscriptEntry | None = None
    for entry in entries:
        if entry.author is Author.CUSTOMER:
            run = run + 1 if _answers_quickly(previous, entry, within_s) else 0
        previous = entry
    return run


def stop_commit(claim: Claim, reason: str) -> TurnCommit:
    """The claimed messages consumed without a reply, the conversation handed to a person."""
    last = claim.messages[-1]
    wrote = last.text[:SUMMARY_QUOTE_CHARS]
    handoff = {
        "reason": REPLY_LOOP,
        "priority": "normal",
        "summary": f"Customer wrote: {wrote}\nWhy handed off: the bot stopped a reply loop: "
        f"{reason}",
    }
    return TurnCommit(
        consumed=len(claim.messages),
        outbox=(OutboxItem(f"{last.message_id}:handoff", HANDOFF, handoff),),
        state=ConversationState(
            key=claim.conversation_key, mode=Mode.MANUAL, escalation_reason=REPLY_LOOP
        ),
    )


def _answers_quickly(
    previous: TranscriptEntry | None, entry: TranscriptEntry, within_s: float
) -> bool:
    """``entry`` follows a bot reply directly, and came within ``within_s`` of it."""
    if previous is None or previous.author is not Author.BOT:
        return False
    return 0 <= entry.at - previous.at <= within_s
