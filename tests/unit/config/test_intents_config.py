"""The bot file's ``intents:``: what is accepted, and errors that name the field."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config import TenantRegistry, load_bot_file
from agent.config.intents import IntentConfig, IntentWhen, Normalise, placeholders
from agent.config.settings import DEMO_TENANTS_DIR
from agent.errors import ConfigError

ORDER = r"(?P<order_id>BL-?\d{5})"


def intent(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "order_status",
        "tool": "lookup_order",
        "patterns": {"en": [rf"\bwhere\b.*{ORDER}"]},
        "arguments": {"order_id": "{order_id}"},
        "reply": {"en": ["Your order {id} is {status}.", "Your order {id}: no status yet."]},
    }
    return {**data, **overrides}


def bot_file(tmp_path: Path, *intents: dict[str, Any], **extra: Any) -> Path:
    data = {
        "tenant": "acme",
        "company": "Acme",
        "persona": "You are Acme's assistant.",
        "languages": ["en", "de"],
        "tools": ["lookup_order"],
        "intents": list(intents),
        **extra,
    }
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def error_of(tmp_path: Path, *intents: dict[str, Any], **extra: Any) -> str:
    path = bot_file(tmp_path, *intents, **extra)
    with pytest.raises(ConfigError) as raised:
        load_bot_file(path)
    message = str(raised.value)
    assert str(path) in message
    return message


def test_a_valid_intent_loads_with_its_defaults(tmp_path: Path) -> None:
    bot = load_bot_file(bot_file(tmp_path, intent()))
    (loaded,) = bot.intents
    assert loaded.when is IntentWhen.WITHOUT_MODEL
    assert loaded.capture_names() == {"order_id"}
    assert loaded.required_captures() == {"order_id"}
    assert loaded.reply["en"][0] == "Your order {id} is {status}."


def test_a_single_reply_template_may_be_a_string(tmp_path: Path) -> None:
    bot = load_bot_file(bot_file(tmp_path, intent(reply={"en": "Order {id}: {status}."})))
    assert bot.intents[0].reply == {"en": ["Order {id}: {status}."]}


def test_no_intents_by_default(tmp_path: Path) -> None:
    path = bot_file(tmp_path)
    data = yaml.safe_load(path.read_text())
    del data["intents"]
    path.write_text(yaml.safe_dump(data))
    assert load_bot_file(path).intents == []


def test_the_demo_bot_file_has_order_intents_in_four_languages() -> None:
    bot = TenantRegistry.load(DEMO_TENANTS_DIR).get("demo")
    by_name = {i.name: i for i in bot.intents}
    assert set(by_name) == {"order_status", "shipment_tracking"}
    assert by_name["order_status"].tool == "lookup_order"
    assert by_name["shipment_tracking"].tool == "track_shipment"
    for loaded in by_name.values():
        assert set(loaded.patterns) == set(loaded.reply) == {"en", "es", "de", "fr"}
        assert set(loaded.not_found) == {"en", "es", "de", "fr"}


def test_an_invalid_regex_names_the_language_and_position(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(patterns={"en": [rf"where.*{ORDER}", "(unclosed"]}))
    assert "intents.0.patterns" in message
    assert "en[1]" in message and "not a valid regex" in message


def test_an_argument_needs_a_capture_of_that_name(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(arguments={"order_id": "{order_number}"}))
    assert "arguments.order_id" in message
    assert "{order_number} is not a named group" in message


def test_every_pattern_must_capture_what_the_arguments_need(tmp_path: Path) -> None:
    patterns = {"en": [rf"where.*{ORDER}", r"\bstatus\b"]}
    message = error_of(tmp_path, intent(patterns=patterns))
    assert "patterns.en[1]" in message


def test_captures_found_anywhere_satisfy_the_arguments(tmp_path: Path) -> None:
    patterns = {"en": [r"\bwhere\b"], "de": [r"\bwo\b"]}
    reply = {"en": "Order {id}: {status}", "de": "Bestellung {id}: {status}"}
    bot = load_bot_file(
        bot_file(
            tmp_path,
            intent(patterns=patterns, reply=reply, captures={"order_id": r"BL-?(\d{5})"}),
        )
    )
    assert bot.intents[0].capture_names() == {"order_id"}


def test_phrases_capture_nothing(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(patterns={}, phrases={"en": ["where is my order"]}))
    assert "phrases.en (phrases capture nothing)" in message


def test_a_pattern_or_a_phrase_is_needed(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(patterns={}, phrases={}))
    assert "patterns or phrases" in message


def test_arguments_without_a_tool_are_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(tool=None))
    assert "arguments: only an intent with a tool" in message


def test_a_reply_without_a_tool_may_use_only_captures(tmp_path: Path) -> None:
    canned = intent(tool=None, arguments={}, reply={"en": "We ship {order_id} on {weekday}."})
    message = error_of(tmp_path, canned)
    assert "reply.en[0]" in message and "{weekday}" in message


def test_each_pattern_language_needs_a_reply(tmp_path: Path) -> None:
    patterns = {"en": [rf"where.*{ORDER}"], "de": [rf"wo.*{ORDER}"]}
    message = error_of(tmp_path, intent(patterns=patterns))
    assert "reply: no template in 'de'" in message


def test_languages_must_be_the_bots(tmp_path: Path) -> None:
    patterns = {"en": [rf"where.*{ORDER}"], "it": [rf"dove.*{ORDER}"]}
    reply = {"en": "Order {id}", "it": "Ordine {id}"}
    message = error_of(tmp_path, intent(patterns=patterns, reply=reply))
    assert "intents[0].patterns.it" in message and "en, de" in message


def test_a_malformed_template_names_the_template(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(reply={"en": ["Order {id}", "Order {order id}"]}))
    assert "reply.en[1]" in message and "'{order id}' is not a placeholder" in message
    message = error_of(tmp_path, intent(reply={"en": "Order {id"}))
    assert "unmatched '{'" in message


def test_not_found_may_use_only_captures(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(not_found={"en": "No order {id} here."}))
    assert "not_found.en" in message


def test_normalise_names_a_capture(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(normalise={"order": {"case": "upper"}}))
    assert "normalise.order" in message


def test_names_are_unique(tmp_path: Path) -> None:
    message = error_of(tmp_path, intent(), intent())
    assert "intents[1].name" in message and "used twice" in message


def test_unknown_keys_and_bad_names_are_errors(tmp_path: Path) -> None:
    assert "intents.0.tols" in error_of(tmp_path, intent(tols="lookup_order"))
    assert "intents.0.name" in error_of(tmp_path, intent(name="Order Status"))
    assert "intents.0.when" in error_of(tmp_path, intent(when="sometimes"))


@pytest.mark.parametrize(
    ("raw", "normalise", "expected"),
    [
        ("bl 10234", Normalise(keep="digits", prefix="BL-"), "BL-10234"),
        ("#10234", Normalise(keep="digits", prefix="BL-"), "BL-10234"),
        ("bl-10234", Normalise(case="upper"), "BL-10234"),
        ("BL-10234", Normalise(prefix="BL-"), "BL-10234"),
        (" Ab-12 ", Normalise(keep="alphanumeric", case="lower"), "ab12"),
    ],
)
def test_normalisers(raw: str, normalise: Normalise, expected: str) -> None:
    assert normalise.apply(raw) == expected


def test_placeholders_and_literal_braces() -> None:
    found = placeholders("{{literal}} {id} {items[*].name} {events[-1].location}")
    assert [p.path for p in found] == ["id", "items[*].name", "events[-1].location"]
    assert [p.name for p in found] == ["id", "items", "events"]


def test_an_intent_is_frozen() -> None:
    loaded = IntentConfig.model_validate(intent())
    with pytest.raises(ValueError):
        loaded.name = "other"
