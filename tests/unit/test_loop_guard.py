"""The loop guard reads a transcript and says when the bot must stop replying by itself."""

from agent.config.channels import LoopGuardConfig
from agent.loop_guard import (
    REPLY_LOOP,
    bot_turns_since_customer,
    fast_customer_replies,
    loop_reason,
    stop_commit,
)
from agent.runtime.models import Author, Claim, InboundMessage, Mode, TranscriptEntry
from tools.context import Customer

GUARD = LoopGuardConfig()  # 3 bot turns, 3 fast replies within 20 s
T0 = 1_700_000_000.0


def said(author: Author, at: float, text: str = "…") -> TranscriptEntry:
    return TranscriptEntry(author, text, f"{author.value}-{at}", at)


def ping_pong(gaps: list[float], start: float = T0) -> list[TranscriptEntry]:
    """Customer, bot, then for each gap a customer message that many seconds after the bot
    reply before it, and the bot's next reply 5 s later; ends with the last customer message."""
    at = start
    entries = [said(Author.CUSTOMER, at), said(Author.BOT, at + 5)]
    at += 5
    for index, gap in enumerate(gaps):
        at += gap
        entries.append(said(Author.CUSTOMER, at))
        if index < len(gaps) - 1:
            at += 5
            entries.append(said(Author.BOT, at))
    return entries


def test_an_ordinary_conversation_may_continue() -> None:
    entries = ping_pong([300, 120, 600])
    assert loop_reason(entries, GUARD, email=True) is None
    assert loop_reason(entries, GUARD) is None


def test_an_empty_or_fresh_transcript_may_be_answered() -> None:
    assert loop_reason([], GUARD, email=True) is None
    assert loop_reason([said(Author.CUSTOMER, T0)], GUARD, email=True) is None


def test_bot_turns_without_a_customer_message_stop_the_bot() -> None:
    entries = [said(Author.CUSTOMER, T0)] + [said(Author.BOT, T0 + i) for i in range(1, 4)]
    assert bot_turns_since_customer(entries) == 3
    reason = loop_reason(entries, GUARD)
    assert reason is not None and "4 bot replies in a row" in reason


def test_the_reply_about_to_be_written_counts() -> None:
    entries = [said(Author.CUSTOMER, T0), said(Author.BOT, T0 + 1), said(Author.BOT, T0 + 2)]
    assert loop_reason(entries, GUARD) is None  # the third reply is allowed
    one = LoopGuardConfig(max_bot_turns=1)
    assert loop_reason(entries[:2], one) is not None  # a holding reply, then no second one
    assert loop_reason(entries[:1], one) is None


def test_operator_words_do_not_reset_the_bot_run_but_a_customer_message_does() -> None:
    bots = [said(Author.BOT, T0 + i) for i in range(1, 4)]
    entries = [said(Author.CUSTOMER, T0), *bots[:2], said(Author.OPERATOR, T0 + 2.5), bots[2]]
    assert bot_turns_since_customer(entries) == 3
    assert bot_turns_since_customer([*entries, said(Author.CUSTOMER, T0 + 9)]) == 0


def test_an_auto_responder_on_an_email_conversation_is_stopped() -> None:
    entries = ping_pong([2, 3, 1])
    assert fast_customer_replies(entries, 20) == 3
    reason = loop_reason(entries, GUARD, email=True)
    assert reason is not None and "3 customer messages in a row came within 20 s" in reason


def test_fast_replies_count_only_in_email_conversations() -> None:
    assert loop_reason(ping_pong([2, 3, 1]), GUARD, email=False) is None


def test_one_slow_reply_breaks_the_run() -> None:
    entries = ping_pong([2, 3, 90, 1, 2])
    assert fast_customer_replies(entries, 20) == 2
    assert loop_reason(entries, GUARD, email=True) is None
    assert fast_customer_replies(ping_pong([2, 3, 1, 90]), 20) == 0


def test_a_second_customer_message_after_the_same_reply_is_no_fast_reply() -> None:
    entries = ping_pong([2, 3])
    entries.append(said(Author.CUSTOMER, entries[-1].at + 1))
    assert fast_customer_replies(entries, 20) == 0


def test_the_thresholds_come_from_the_config() -> None:
    entries = ping_pong([2, 3])
    assert loop_reason(entries, GUARD, email=True) is None
    assert loop_reason(entries, LoopGuardConfig(fast_replies=2), email=True) is not None
    assert loop_reason(entries, LoopGuardConfig(fast_replies=2, fast_reply_s=1), email=True) is None


def test_a_customer_message_timestamped_before_the_reply_is_not_fast() -> None:
    entries = [said(Author.CUSTOMER, T0), said(Author.BOT, T0 + 10), said(Author.CUSTOMER, T0 + 5)]
    assert fast_customer_replies(entries, 20) == 0


def test_stopping_consumes_the_messages_hands_off_and_goes_manual() -> None:
    messages = tuple(
        InboundMessage("acme", "helpscout", "c-1", f"m-{i}", "Auto: received", Customer("7"))
        for i in (1, 2)
    )
    commit = stop_commit(Claim("acme:helpscout:c-1", 4, messages), "3 fast replies")
    assert commit.consumed == 2 and commit.entries == ()
    (item,) = commit.outbox
    assert item.key == "m-2:handoff" and item.kind == "handoff"
    assert item.payload["reason"] == REPLY_LOOP and item.payload["priority"] == "normal"
    assert "3 fast replies" in item.payload["summary"]
    assert commit.state is not None and commit.state.mode is Mode.MANUAL
    assert commit.state.escalation_reason == REPLY_LOOP
