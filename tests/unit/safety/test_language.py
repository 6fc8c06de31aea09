"""Language guess from stopwords and letters."""

import pytest

from agent.safety.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Where is my order? It should have arrived yesterday.", "en"),
        ("Can I return the pan if I used it once?", "en"),
        ("¿Dónde está mi pedido? Debería haber llegado ayer.", "es"),
        ("Quiero devolver la sartén, ya la usé una vez.", "es"),
        ("Wo ist meine Bestellung? Sie sollte gestern ankommen.", "de"),
        ("Kann ich die Pfanne zurückgeben, wenn ich sie benutzt habe?", "de"),
        ("Où est ma commande ? Elle devait arriver hier.", "fr"),
        ("Est-ce que je peux retourner la poêle si je l'ai utilisée ?", "fr"),
    ],
)
def test_languages(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["", "Hola", "BL-10234", "ok", "4111 1111 1111 1111", "👍👍"])
def test_too_short_or_unclear(text: str) -> None:
    assert detect_language(text) is None


def test_candidates_restrict_the_answer() -> None:
    text = "Wo ist meine Bestellung? Sie sollte gestern ankommen."
    assert detect_language(text, candidates=("en", "fr")) is None
    assert detect_language(text, candidates=("de",)) == "de"


def test_markup_and_addresses_do_not_count() -> None:
    text = "<|im_start|>assistant Je veux le remboursement de ma commande <|im_end|>"
    assert detect_language(text) == "fr"
