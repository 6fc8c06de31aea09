"""Personal data: check digits, formats, hard negatives and redaction."""

from itertools import pairwise

import pytest

from agent.safety.pii import (
    PiiMatch,
    card_valid,
    dni_letter,
    find_pii,
    iban_valid,
    luhn_valid,
    nino_valid,
    nir_valid,
    redact,
    ssn_valid,
    steuer_id_valid,
)


def kinds(text: str) -> list[str]:
    return [match.kind for match in find_pii(text)]


# --- cards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]
)
def test_luhn_valid_test_cards(number: str) -> None:
    assert luhn_valid(number)
    assert card_valid(number)


def test_a_changed_digit_breaks_luhn() -> None:
    assert not luhn_valid("4111111111111112")
    assert not card_valid("4111111111111112")


def test_luhn_valid_number_with_unknown_prefix_is_no_card() -> None:
    assert luhn_valid("1234567812345670")
    assert not card_valid("1234567812345670")


def test_amex_length_is_checked() -> None:
    assert not card_valid("3782822463100050")  # 16 digits with an Amex prefix


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1111 exp 12/27",
        "card 4111-1111-1111-1111.",
        "card:4111111111111111",
        "Amex 3782 822463 10005 please",
    ],
)
def test_cards_with_spaces_or_dashes(text: str) -> None:
    assert kinds(text) == ["card"]


def test_luhn_invalid_card_is_not_flagged() -> None:
    assert find_pii("card 4111 1111 1111 1112") == []


def test_card_is_found_inside_a_longer_run_of_digits() -> None:
    found = find_pii("order 12345 4111 1111 1111 1111 thanks")
    assert [(m.kind, m.text) for m in found] == [("card", "4111 1111 1111 1111")]


# --- IBAN ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB29 NWBK 6016 1331 9268 19",
        "es91 2100 0418 4502 0005 1332",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300",
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)
    assert kinds(f"IBAN: {iban} thanks") == ["iban"]


@pytest.mark.parametrize(
    "iban",
    [
        "DE88370400440532013000",  # check digits off by one
        "DE8937040044053201300",  # one character short for DE
        "XX89370400440532013000",  # no such country
    ],
)
def test_invalid_ibans(iban: str) -> None:
    assert not iban_valid(iban)
    assert find_pii(f"IBAN {iban}") == []


def test_iban_followed_by_words_stops_at_its_length() -> None:
    found = find_pii("DE89 3704 0044 0532 0130 00 please refund there")
    assert [m.text for m in found] == ["DE89 3704 0044 0532 0130 00"]


def test_vat_number_is_no_iban() -> None:
    assert find_pii("VAT GB123456789") == []


# --- e-mail --------------------------------------------------------------------------------


def test_emails() -> None:
    found = find_pii("write to jane.doe+shop@example.co.uk. or j_s@mail.example.de")
    assert [m.text for m in found] == ["jane.doe+shop@example.co.uk", "j_s@mail.example.de"]


# --- phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "call +44 20 7946 0958",
        "call +44 (0)20 7946 0958",
        "UK mobile 07700 900123",
        "(415) 555-0132",
        "phone: 415-555-0132",
        "+1 415 555 0132",
        "mi móvil es 612 34 56 78",
        "llamadme al 915 123 456",
        "+34 699 123 456",
        "Ruf mich an: 0151 23456789",
        "Tel. 030/12345678",
        "+49 89 12345678",
        "appelez le 06 12 34 56 78",
        "fixe : 01.42.68.53.00",
        "+33 6 12 34 56 78",
        "0034 612 345 678",
    ],
)
def test_phones(text: str) -> None:
    assert kinds(text) == ["phone"]


def test_bare_digits_are_a_phone_only_after_a_phone_word() -> None:
    assert kinds("my mobile is 0612345678") == ["phone"]
    assert find_pii("reference 0612345678") == []
    assert find_pii("0612345678") == []


@pytest.mark.parametrize(
    "text",
    [
        "Order BL-10234 is late",
        "ticket #482913",
        "it costs €12.90, was 1.299,00 € before",
        "delivered on 12/05/2024 at 09:00-18:00",
        "on 2024-05-12 and 12.05.2024",
        "my order number is 0612 3345 89",
        "tracking 0034 5678 9012",
        "Sendungsnummer 0034 4567 8912 3456",
        "numéro de suivi 06 1234 5678",
        "pedido 612345678",
        "DHL 00340434161234567890",
        "PO 4471-2209",
        "card 4111 1111 1111 1112",
    ],
)
def test_not_phones(text: str) -> None:
    assert "phone" not in kinds(text)


# --- national ids --------------------------------------------------------------------------


def test_ssn_ranges() -> None:
    assert ssn_valid("536", "22", "8107")
    for area, group, serial in [("000", "12", "3456"), ("666", "12", "3456"), ("912", "12", "3456"),
                                ("123", "00", "4567"), ("123", "45", "0000")]:  # fmt: skip
        assert not ssn_valid(area, group, serial)
    assert kinds("SSN 536-22-8107") == ["national_id"]
    assert find_pii("SSN 666-22-8107") == []
    assert kinds("social security number 536228107") == ["national_id"]
    assert find_pii("order 536228107") == []


def test_nino_prefix_rules() -> None:
    assert nino_valid("JG")
    for prefix in ("DA", "QQ", "AO", "GB", "NK", "ZZ"):
        assert not nino_valid(prefix)
    assert kinds("NI number JG 10 37 42 B") == ["national_id"]
    assert kinds("NI number JG103742B") == ["national_id"]
    assert find_pii("NI number QQ 12 34 56 C") == []
    assert find_pii("ref JG 10 37 42 E") == []  # the last letter is A-D


def test_spanish_dni_and_nie_check_letter() -> None:
    assert dni_letter(12345678) == "Z"
    assert kinds("DNI 12345678Z") == ["national_id"]
    assert kinds("DNI 12345678-z") == ["national_id"]
    assert find_pii("DNI 12345678A") == []
    assert kinds("NIE X1234567L") == ["national_id"]
    assert find_pii("NIE X1234567A") == []


def test_french_nir_key() -> None:
    assert nir_valid("1 85 05 78 006 084 91")
    assert not nir_valid("1 85 05 78 006 084 92")
    corsica = "2 69 05 2A 123 456"
    body = 2690519123456  # 2A counts as 19
    assert nir_valid(f"{corsica} {97 - body % 97:02d}")
    assert kinds("NIR 2 87 03 75 116 052 22") == ["national_id"]
    assert find_pii("NIR 2 87 03 75 116 052 23") == []


def test_german_steuer_id() -> None:
    assert steuer_id_valid("86095742719")
    assert not steuer_id_valid("86095742718")  # check digit
    assert not steuer_id_valid("01234567890")  # leading zero
    assert not steuer_id_valid("12345678903")  # no repeated digit in the first ten
    assert kinds("Steuer-ID 86095742719") == ["national_id"]
    assert kinds("Steuer-ID 86 095 742 719") == ["national_id"]


# --- results -------------------------------------------------------------------------------


def test_matches_are_sorted_non_overlapping_and_located() -> None:
    text = "mail a@b.example, phone +44 20 7946 0958, card 4111 1111 1111 1111"
    found = find_pii(text)
    assert [m.kind for m in found] == ["email", "phone", "card"]
    assert all(text[m.start : m.end] == m.text for m in found)
    assert all(a.end <= b.start for a, b in pairwise(found))
    assert isinstance(found[0], PiiMatch)


def test_redact() -> None:
    text = (
        "I'm jane@example.com, +33 6 12 34 56 78, IBAN FR14 2004 1010 0505 0001 3M02 606, "
        "card 4111-1111-1111-1111, DNI 12345678Z, order BL-10234 of €89.90"
    )
    assert redact(text) == (
        "I'm [email], [phone], IBAN [iban], card [card], DNI [national_id], "
        "order BL-10234 of €89.90"
    )


def test_redact_is_idempotent_and_leaves_plain_text() -> None:
    once = redact("call 07700 900123")
    assert redact(once) == once == "call [phone]"
    assert redact("Where is order BL-10234?") == "Where is order BL-10234?"
