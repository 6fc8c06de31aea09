"""Texts sent without a model: one for all, or one per language."""

from pathlib import Path

import pytest

from agent.config.localized import localized
from agent.errors import ConfigError
from tests.unit.graph.conftest import tenants_with


def test_the_customers_language_then_english_then_the_first() -> None:
    texts = {"de": "Hallo", "en": "Hello"}
    assert localized(texts, "de") == "Hallo"
    assert localized(texts, "de-AT") == "Hallo"
    assert localized(texts, "it") == "Hello"
    assert localized({"fr": "Bonjour"}, None) == "Bonjour"
    assert localized("Hi", "fr") == "Hi"


def test_defaults_cover_four_languages(tmp_path: Path) -> None:
    bot = tenants_with(tmp_path).get("demo")
    for language in ("en", "es", "de", "fr"):
        assert localized(bot.escalation.approval_message, language)
        assert localized(bot.limits.busy_message, language)
    assert localized(bot.guard.injection_reply, "es").startswith("Puedo ayudarte")


@pytest.mark.parametrize("value", ["", {}, {"en": " "}])
def test_empty_texts_are_refused(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match="busy_message"):
        tenants_with(tmp_path, limits__busy_message=value)
