"""The history window: whole turns as sent, within a token budget, summarised rarely."""

from agent.graph.history import (
    LOW_WATER,
    SUMMARY_HEADING,
    SUMMARY_SHARE,
    PromptWindow,
    SentTurn,
    estimate_tokens,
    messages_tokens,
    plan_window,
    split_turns,
    summarise,
)
from agent.llm.types import ChatMessage, ToolCall


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def bot(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


def conversation(turns: int, words: int = 60) -> list[ChatMessage]:
    history: list[ChatMessage] = []
    for n in range(turns):
        history += [user(f"question {n} " + "word " * words), bot(f"answer {n} " + "text " * words)]
    return history


def test_tokens_are_estimated_from_utf8_bytes() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 25) == 25
    assert estimate_tokens("é" * 10) == 5  # two bytes each
    assert estimate_tokens("日本語のテキスト") == 6  # three bytes each, rounded up
    call = ToolCall("c1", "lookup_order", {"order_id": "BL-10234"})
    with_call = ChatMessage(role="assistant", tool_calls=(call,))
    assert messages_tokens([with_call]) > messages_tokens([ChatMessage(role="assistant")])


def test_turns_start_at_each_customer_message() -> None:
    history = [bot("Welcome!"), user("hi"), bot("hello"), bot("anything else?"), user("no")]
    turns = split_turns(history)
    assert [t.said for t in turns] == [None, "hi", "no"]
    assert [len(t.messages) for t in turns] == [1, 3, 1]


def test_a_history_within_the_budget_is_sent_as_it_is() -> None:
    history = conversation(3)
    window = plan_window(history, None, budget=3000)
    assert window.summary == "" and window.summarised == 0
    assert window.messages() == history


def test_over_the_budget_the_oldest_turns_are_summarised() -> None:
    history = conversation(12)
    budget = 1000
    window = plan_window(history, None, budget)
    messages = window.messages()
    assert messages[0].role == "user"
    assert messages[0].content is not None and messages[0].content.startswith(SUMMARY_HEADING)
    kept = messages[1:]
    assert kept == history[-len(kept) :]  # the newest turns, whole and unchanged
    assert messages_tokens(kept) <= budget * LOW_WATER
    assert estimate_tokens(window.summary) <= budget * SUMMARY_SHARE + 5
    assert messages_tokens(messages) <= budget
    assert window.summarised == 12 - len(kept) // 2
    assert "question 0" not in window.summary  # only the newest folded turns are listed
    assert f"question {window.summarised - 1}" in window.summary


def test_the_summary_is_deterministic_and_lists_the_customer_and_the_replies() -> None:
    turns = split_turns(conversation(2, words=3))
    text = summarise(turns, 300)
    assert text == summarise(turns, 300)
    assert text.splitlines() == [
        SUMMARY_HEADING,
        "- Customer: question 0 word word word",
        "  Assistant: answer 0 text text text",
        "- Customer: question 1 word word word",
        "  Assistant: answer 1 text text text",
        "(The knowledge passages and tool results of those turns are not repeated.)",
    ]
    assert summarise([], 300) == ""


def test_the_window_moves_rarely_and_each_request_extends_the_previous_one() -> None:
    """Turn after turn, carrying the stored window as the checkpointer does: between two
    moves the history sent is the previous one plus the previous turn, unchanged."""
    budget = 1500
    history: list[ChatMessage] = []
    stored: PromptWindow | None = None
    sent: list[list[ChatMessage]] = []
    summaries = []
    for n in range(20):
        window = plan_window(history, stored, budget)
        sent.append(window.messages())
        summaries.append(window.summary)
        said = f"question {n} " + "word " * 60
        record = SentTurn(said=said, messages=[user(said + "\n\n<knowledge>…</knowledge>")])
        stored = window.stored(record)
        history += [user(said), bot(f"answer {n} " + "text " * 60)]
    moves = [n for n in range(1, 20) if summaries[n] != summaries[n - 1]]
    assert 1 <= len(moves) <= 5
    for n in range(1, 20):
        if n in moves:
            continue
        previous, current = sent[n - 1], sent[n]
        assert current[: len(previous)] == previous
        assert current[len(previous)].content == f"question {n - 1} " + "word " * 60 + (
            "\n\n<knowledge>…</knowledge>"
        )
    assert all(messages_tokens(m) <= budget for m in sent)


def test_turns_are_replayed_as_sent_with_their_tool_exchange() -> None:
    call = ToolCall("call_1", "lookup_order", {"order_id": "BL-10234"})
    as_sent = [
        user("Where is BL-10234?\n\n<knowledge>…</knowledge>"),
        ChatMessage(role="assistant", tool_calls=(call,)),
        ChatMessage(role="tool", content='{"ok": true}', tool_call_id="call_1"),
    ]
    stored = PromptWindow(
        summary="",
        summarised=0,
        first_said="Where is BL-10234?",
        sent=[SentTurn(said="Where is BL-10234?", messages=as_sent)],
    )
    history = [user("Where is BL-10234?"), bot("It has shipped.")]
    window = plan_window(history, stored, 3000)
    assert window.messages() == [*as_sent, bot("It has shipped.")]
    kept = window.stored(None)
    assert kept["sent"] == stored["sent"]  # still in the window: kept for the next turn


def test_a_stored_window_of_another_history_is_not_used() -> None:
    stored = PromptWindow(
        summary="Earlier in this conversation: x", summarised=1, first_said="b", sent=[]
    )
    history = [user("a"), bot("1"), user("c"), bot("2")]
    window = plan_window(history, stored, 3000)
    assert window.summary == "" and window.messages() == history
    beyond = PromptWindow(summary="s", summarised=5, first_said=None, sent=[])
    assert plan_window(history, beyond, 3000).messages() == history


def test_records_of_folded_turns_are_dropped() -> None:
    history = conversation(10)
    records = [
        SentTurn(said=m.content or "", messages=[user((m.content or "") + " +k")])
        for m in history
        if m.role == "user"
    ]
    stored = PromptWindow(summary="", summarised=0, first_said=history[0].content, sent=records)
    window = plan_window(history, stored, 800)
    kept = window.stored(None)["sent"]
    assert 0 < len(kept) < len(records)
    assert kept == records[-len(kept) :]
    assert window.stored(None)["first_said"] == kept[0]["said"]
