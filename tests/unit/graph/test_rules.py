"""Escalation rules: each fires on its signal, respects the bot file, and picks a priority."""

from pathlib import Path

import pytest

from agent.config.botfile import ESCALATION_REASONS
from agent.graph.facts import extract_facts
from agent.graph.rules import first_escalation, low_confidence
from agent.graph.state import EscalationReason, Memory, Priority, Signals
from tests.unit.graph.conftest import ALEX, tenants_with
from tools.context import Customer


def bot(tmp_path: Path, **overrides: object):  # type: ignore[no-untyped-def]
    return tenants_with(tmp_path, **overrides).get("demo")


def test_the_bot_file_knows_every_escalation_reason() -> None:
    assert set(ESCALATION_REASONS) == {reason.value for reason in EscalationReason}


def test_nothing_fires_on_an_ordinary_message(tmp_path: Path) -> None:
    assert first_escalation(bot(tmp_path), Signals(language="en"), Memory(turns=1), ALEX) is None


@pytest.mark.parametrize(
    ("topic", "priority"),
    [("legal", Priority.HIGH), ("security", Priority.URGENT), ("medical_safety", Priority.URGENT)],
)
def test_sensitive_topics_go_to_a_person(tmp_path: Path, topic: str, priority: Priority) -> None:
    found = first_escalation(bot(tmp_path), Signals(topic=topic), Memory(turns=1), ALEX)
    assert found is not None
    assert (found.reason, found.priority) == (EscalationReason.SENSITIVE_TOPIC, priority)


def test_a_topic_the_tenant_left_out_does_not_escalate(tmp_path: Path) -> None:
    mine = bot(tmp_path, escalation__sensitive_topics=["security"])
    assert first_escalation(mine, Signals(topic="legal"), Memory(turns=1), ALEX) is None


def test_frustration_needs_consecutive_negative_turns(tmp_path: Path) -> None:
    mine = bot(tmp_path)
    once = Memory(turns=2, negative_turns=1)
    assert first_escalation(mine, Signals(negative=True), once, ALEX) is None
    twice = Memory(turns=3, negative_turns=2)
    found = first_escalation(mine, Signals(negative=True), twice, ALEX)
    assert found is not None and found.reason is EscalationReason.FRUSTRATION


def test_too_many_turns(tmp_path: Path) -> None:
    mine = bot(tmp_path, escalation__max_turns=3)
    assert first_escalation(mine, Signals(), Memory(turns=3), ALEX) is None
    found = first_escalation(mine, Signals(), Memory(turns=4), ALEX)
    assert found is not None and found.reason is EscalationReason.TOO_MANY_TURNS


def test_vip_by_id_email_or_domain(tmp_path: Path) -> None:
    mine = bot(
        tmp_path,
        escalation__vip={"customer_ids": ["cust_9"], "email_domains": ["bigcorp.example"]},
    )
    for customer in (Customer("cust_9"), Customer("cust_2", "Ana@BigCorp.example")):
        found = first_escalation(mine, Signals(), Memory(turns=1), customer)
        assert found is not None and found.reason is EscalationReason.VIP
    assert first_escalation(mine, Signals(), Memory(turns=1), ALEX) is None


def test_abuse_can_be_switched_off(tmp_path: Path) -> None:
    abusive = Signals(abuse=True, reasons=("insult",))
    found = first_escalation(bot(tmp_path), abusive, Memory(turns=1), ALEX)
    assert found is not None and found.reason is EscalationReason.ABUSE
    assert first_escalation(bot(tmp_path, escalation__abuse=False), abusive, Memory(), ALEX) is None


def test_the_tenant_sets_priorities(tmp_path: Path) -> None:
    mine = bot(tmp_path, escalation__priorities={"sensitive_topic": "low"})
    found = first_escalation(mine, Signals(topic="security"), Memory(turns=1), ALEX)
    assert found is not None and found.priority is Priority.LOW


def test_unknown_priority_reasons_are_refused(tmp_path: Path) -> None:
    from agent.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown reason"):
        bot(tmp_path, escalation__priorities={"bored": "low"})


def test_low_confidence_on_consecutive_turns(tmp_path: Path) -> None:
    mine = bot(tmp_path)  # two turns, min_score from the bot file
    weak = mine.retrieval.min_score - 0.1
    assert low_confidence(mine, Memory(low_confidence_turns=0), weak) is None
    found = low_confidence(mine, Memory(low_confidence_turns=1), weak)
    assert found is not None and found.reason is EscalationReason.LOW_CONFIDENCE
    assert low_confidence(mine, Memory(low_confidence_turns=5), mine.retrieval.min_score) is None


def test_facts_are_extracted() -> None:
    facts = extract_facts("My order bl-10234 never came, write to me at alex@example.com")
    assert facts == {"order_id": "BL-10234", "email": "alex@example.com"}
    assert extract_facts("thanks, bye") == {}
