"""The packaged labelled sets load, are packaged, and meet their minimums."""

from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from agent.safety.labelled import LabelledSetError, load_grounding, load_messages

LANGUAGES = ("en", "es", "de", "fr")


def test_the_sets_are_package_data() -> None:
    folder = resources.files("agent.safety.eval")
    assert (folder / "messages.yaml").is_file()
    assert (folder / "grounding.yaml").is_file()


def test_messages_meet_the_minimums() -> None:
    messages = load_messages()
    assert len(messages) >= 240
    per_language = Counter(message.language for message in messages)
    assert set(per_language) == set(LANGUAGES)
    assert all(per_language[language] >= 55 for language in LANGUAGES)
    assert len({message.text for message in messages}) == len(messages)  # no duplicates
    for label in ("injection", "abuse", "negative"):
        for language in LANGUAGES:
            assert any(getattr(m, label) for m in messages if m.language == language), label
    assert {m.topic for m in messages} == {None, "legal", "security", "medical_safety"}
    assert set().union(*(m.pii for m in messages)) == {
        "card",
        "iban",
        "email",
        "phone",
        "national_id",
    }


def test_grounding_cases_meet_the_minimums() -> None:
    cases = load_grounding()
    assert len(cases) >= 60
    assert {case.language for case in cases} == set(LANGUAGES)
    assert all(case.sources and all(case.sources) for case in cases)
    assert 0 < sum(case.supported for case in cases) < len(cases)


def test_malformed_sets_are_reported_with_their_place(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("messages:\n- text: hi\n  language: en\n", encoding="utf-8")
    with pytest.raises(LabelledSetError, match=r"broken.yaml: message 1: 'pii'"):
        load_messages(broken)
    bad_topic = tmp_path / "topic.yaml"
    bad_topic.write_text("messages:\n- {text: hi, topic: weather, pii: []}\n", encoding="utf-8")
    with pytest.raises(LabelledSetError, match="topic 'weather'"):
        load_messages(bad_topic)
    unknown = tmp_path / "grounding.yaml"
    unknown.write_text(
        "passages: {a: text}\ncases:\n- {language: en, reply: hi, sources: [b], supported: true}\n",
        encoding="utf-8",
    )
    with pytest.raises(LabelledSetError, match=r"unknown passages \['b'\]"):
        load_grounding(unknown)
    with pytest.raises(LabelledSetError, match="cannot read"):
        load_messages(tmp_path / "missing.yaml")
