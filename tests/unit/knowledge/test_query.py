"""The retrieval query: the latest message first, then the customer's earlier turns."""

from dataclasses import dataclass

from knowledge.query import build_query, role_and_text


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "utterance": text}


def _agent(text: str) -> dict[str, str]:
    return {"role": "agent", "utterance": text}


def test_without_history_the_query_is_the_message() -> None:
    assert build_query("  where is my parcel?  ") == "where is my parcel?"


def test_earlier_customer_turns_follow_most_recent_first() -> None:
    history = [_user("I ordered a lamp"), _agent("Thanks!"), _user("it has not arrived")]
    assert build_query("how long should I wait?", history) == (
        "how long should I wait?\nit has not arrived\nI ordered a lamp"
    )


def test_bot_turns_are_left_out() -> None:
    history = [_agent("Hello! Refunds take 5-7 days."), _user("ok")]
    assert build_query("and for gift cards?", history) == "and for gift cards?\nok"


def test_only_the_last_few_customer_turns_count() -> None:
    history = [_user(f"turn {n}") for n in range(10)]
    query = build_query("now", history, max_turns=2)
    assert query == "now\nturn 9\nturn 8"


def test_the_character_budget_keeps_the_most_recent_turns() -> None:
    history = [_user("a" * 50), _user("b" * 50), _user("c" * 50)]
    query = build_query("latest", history, max_chars=120)
    assert query.split("\n") == ["latest", "c" * 50, "b" * 50]


def test_the_latest_message_is_kept_whole_even_over_budget() -> None:
    long = "word " * 200
    assert build_query(long, [_user("earlier")], max_chars=100) == long.strip()


def test_history_ending_with_the_message_does_not_repeat_it() -> None:
    history = [_user("my kettle leaks"), _user("can I return it?")]
    assert build_query("can I return it?", history) == "can I return it?\nmy kettle leaks"


def test_empty_turns_are_skipped() -> None:
    history = [_user("refund please"), _user("   "), {"role": "user"}]
    assert build_query("how long?", history) == "how long?\nrefund please"


def test_turns_may_be_mappings_tuples_or_message_objects() -> None:
    @dataclass
    class Message:
        role: str
        content: str | None

    history = [
        {"role": "customer", "text": "first"},
        ("USER", "second"),
        Message("user", "third"),
        Message("assistant", "ignored"),
        {"role": "user", "content": "fourth"},
    ]
    assert build_query("fifth", history, max_turns=10) == "fifth\nfourth\nthird\nsecond\nfirst"


def test_role_and_text_normalise() -> None:
    assert role_and_text({"role": " User ", "utterance": " hi "}) == ("user", "hi")
    assert role_and_text({"role": "user", "utterance": None, "content": "x"}) == ("user", "x")
    assert role_and_text({}) == ("", "")


def test_an_empty_message_gives_the_history_alone() -> None:
    assert build_query("", [_user("refund")]) == "refund"
    assert build_query("   ") == ""
