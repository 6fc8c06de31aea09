"""Node helpers that need no model: phrase detection, reply cleaning, citations."""

from dataclasses import replace
from pathlib import Path

import pytest

from agent.graph.citations import cited_passages, renumber
from agent.graph.nodes.respond import clean_reply
from agent.graph.nodes.understand import asks_for_human
from agent.graph.replies import quoted_answer, shorten
from tests.unit.graph.conftest import REFUNDS, SHIPPING, tenants_with


@pytest.mark.parametrize(
    "text",
    [
        "Can I talk to a HUMAN please?",
        "quiero hablar con una persona",
        "Je veux parler à un humain",
        "Je veux parler a un humain",  # without the accent
        "Kann ich mit einem Mitarbeiter sprechen?",
    ],
)
def test_requests_for_a_human_in_four_languages(tmp_path: Path, text: str) -> None:
    bot = tenants_with(tmp_path).get("demo")
    assert asks_for_human(text, bot) is not None


@pytest.mark.parametrize(
    "text", ["How long does a refund take?", "Is this lamp human-friendly?", "personal data"]
)
def test_ordinary_messages_are_not_requests_for_a_human(tmp_path: Path, text: str) -> None:
    assert asks_for_human(text, tenants_with(tmp_path).get("demo")) is None


def test_configured_phrases_replace_the_defaults(tmp_path: Path) -> None:
    bot = tenants_with(tmp_path, escalation__human_request_phrases={"en": ["beam me up"]}).get(
        "demo"
    )
    assert asks_for_human("please beam me up", bot) == "beam me up"
    assert asks_for_human("talk to a human", bot) is None


def test_clean_reply_strips_reasoning_and_tool_markup() -> None:
    draft = (
        "<think>check policy</think>Refunds take 5–7 days."
        "<tool_call>\n<function=lookup_order>\n<parameter=order_id>\n1\n</parameter>\n"
        "</function>\n</tool_call>"
    )
    assert clean_reply(draft) == "Refunds take 5–7 days."


def test_citations_are_renumbered_in_order_of_use() -> None:
    passages = [REFUNDS, SHIPPING]
    text = "Shipping is quick [2]. Refunds too [1][2]. Nonsense [7]."
    cited = cited_passages(text, passages)
    assert cited == [SHIPPING, REFUNDS]
    assert (
        renumber(text, passages, cited) == "Shipping is quick [1]. Refunds too [2][1]. Nonsense ."
    )


def test_shorten_cuts_at_a_sentence() -> None:
    text = "First sentence here. Second sentence is longer than the limit allows."
    assert shorten(text, 40) == "First sentence here."
    assert shorten("short", 40) == "short"
    assert shorten("word " * 30, 40).endswith("…")


def test_quoted_answer_names_the_source() -> None:
    answer = quoted_answer(REFUNDS, 1500)
    assert answer.splitlines()[2].startswith("> Refunds go back")
    assert answer.endswith(f"Source: Refunds — {REFUNDS.url}")
    no_url = quoted_answer(replace(REFUNDS, url=None), 1500)
    assert no_url.endswith("Source: Refunds")
