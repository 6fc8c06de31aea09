"""Grounding: sentence splitting, what is checked, and when a sentence is supported."""

import pytest

from agent.safety.grounding import GroundingResult, check_grounding, split_sentences

REFUNDS = (
    "We refund you within 5–7 business days after your return has been received and "
    "inspected. Refunds go to the original payment method. For a return from the UK, "
    "€6.50 return shipping is deducted."
)
SHIPPING = "Express shipping costs €12.90 and takes 1–2 business days, EU addresses only."
ORDER = (
    '{"order_id": "BL-10234", "status": "shipped", "carrier": "DHL", "shipped_on": "2025-03-10"}'
)


def test_split_keeps_abbreviations_decimals_and_citations_whole() -> None:
    text = (
        "Some items, e.g. lamps, ship separately [1]. Express costs €12.90. "
        "Die Lieferung kam am 14. März an. Z. B. Lampen. Is that ok? Yes!\n"
        "- first item\n- second item"
    )
    assert split_sentences(text) == [
        "Some items, e.g. lamps, ship separately.",
        "Express costs €12.90.",
        "Die Lieferung kam am 14. März an.",
        "Z. B. Lampen.",
        "Is that ok?",
        "Yes!",
        "first item",
        "second item",
    ]


def test_supported_paraphrase() -> None:
    reply = "Refunds are issued within 5–7 business days once your return is received."
    assert check_grounding(reply, [REFUNDS]) == GroundingResult(1.0, 1, ())


def test_a_number_in_no_source_makes_the_sentence_unsupported() -> None:
    reply = "Refunds are issued within 2–3 business days once your return is received."
    result = check_grounding(reply, [REFUNDS])
    assert result.score == 0.0
    assert result.unsupported == (reply,)


def test_numbers_are_normalised() -> None:
    assert check_grounding("El envío exprés cuesta 12,90 €.", ["envío exprés: 12.90 €"]).score == 1
    reply = "Express shipping takes one to two business days, EU only."
    assert check_grounding(reply, [SHIPPING]).score == 1.0
    assert check_grounding("Express shipping takes five business days.", [SHIPPING]).score == 0


def test_an_invented_policy_is_unsupported() -> None:
    reply = (
        "Refunds go to the original payment method. We also add a loyalty voucher to your account."
    )
    result = check_grounding(reply, [REFUNDS, SHIPPING])
    assert result.sentences == 2
    assert result.score == 0.5
    assert result.unsupported == ("We also add a loyalty voucher to your account.",)


def test_words_must_come_from_one_source() -> None:
    reply = "Express refunds are deducted from EU addresses."
    assert check_grounding(reply, [REFUNDS, SHIPPING], threshold=0.9).unsupported


def test_tool_results_support_facts() -> None:
    reply = "Your order BL-10234 was shipped with DHL on 10 March."
    assert check_grounding(reply, [ORDER]).score == 1.0
    assert check_grounding("Your order BL-10235 was shipped with DHL.", [ORDER]).score == 0.0


def test_questions_and_pleasantries_are_not_checked() -> None:
    reply = (
        "Hi Anna! I'm sorry to hear that. I'm sorry your parcel is late. Thanks for your "
        "patience. Would you like me to open a case? Is there anything else I can help with? "
        "Lo siento mucho. Es tut mir leid. Je suis désolée pour le retard. Bonne journée !"
    )
    assert check_grounding(reply, [REFUNDS]) == GroundingResult(1.0, 0, ())


def test_apology_with_a_number_is_checked() -> None:
    reply = "I'm sorry, refunds take 10 business days."
    assert check_grounding(reply, [REFUNDS]).unsupported == (reply,)


def test_threshold_is_a_parameter() -> None:
    reply = "Refunds go back to the original card within a fortnight, guaranteed by our bank."
    strict = check_grounding(reply, [REFUNDS], threshold=0.9)
    lenient = check_grounding(reply, [REFUNDS], threshold=0.2)
    assert strict.unsupported and not lenient.unsupported


def test_no_sources_and_empty_reply() -> None:
    assert check_grounding("", [REFUNDS]) == GroundingResult(1.0, 0, ())
    assert check_grounding("Refunds take 5 business days.", []).score == 0.0


@pytest.mark.parametrize(
    "reply",
    [
        "I'm sorry, I can't help with weather forecasts. I can help with your orders and returns.",
        "Lo siento, no puedo ayudarte con eso. Puedo ayudarte con tus pedidos y devoluciones.",
        "Ich kann Ihnen bei Bestellungen und Rücksendungen helfen.",
        "Je peux vous aider avec vos commandes et vos retours.",
    ],
)
def test_a_statement_of_the_assistants_scope_is_not_a_claim(reply: str) -> None:
    assert check_grounding(reply, ["Refunds take 5-7 business days."]).sentences == 0


def test_a_scope_statement_with_a_number_is_still_checked() -> None:
    result = check_grounding("I can help with refunds within 90 days.", ["Returns: 30 days."])
    assert result.unsupported == ("I can help with refunds within 90 days.",)
