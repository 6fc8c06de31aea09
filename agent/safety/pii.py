"""Personal data in free text: find it, or replace it with a ``[kind]`` placeholder.

What is detected (each kind only when its check digits hold, where it has any):

- ``email``: ``local@domain.tld`` (letters, digits and ``._%+-`` in the local part).
- ``iban``: two letters, two check digits and the country's exact length from
  ``IBAN_LENGTHS`` (ISO 13616, single spaces allowed anywhere, any letter case),
  valid under the mod-97 check.
- ``card``: 13-19 digits, optionally grouped by single spaces or dashes, Luhn-valid,
  starting with a known issuer prefix (Visa, Mastercard, Amex, Discover, Diners,
  JCB, UnionPay, Maestro) at a length that issuer uses.
- ``national_id``:
  US SSN ``AAA-GG-SSSS`` with dashes (area not 000, 666 or 900-999, group not 00,
  serial not 0000; nine bare digits only right after "SSN" or "social security");
  UK National Insurance number ``AB 12 34 56 C`` (prefix letters as HMRC allocates
  them: not D F I Q U V first, not D F I O Q U V second, not BG GB KN NK NT TN ZZ;
  the final letter A-D is required);
  Spanish DNI (8 digits + check letter) and NIE (X/Y/Z + 7 digits + check letter);
  French NIR (15 digits, sex 1/2, birth month 01-12 or 20-99, Corsica 2A/2B,
  key = 97 - n mod 97, spaces allowed);
  German Steuer-ID (11 digits, first not 0, in the first ten exactly one digit
  repeated two or three times, ISO 7064 MOD 11,10 check digit; spaces allowed).
- ``phone``: international numbers (``+`` or ``00``), validated for +1 (NANP: 10
  digits, area and exchange not starting 0/1), +44 (9-10 digits), +34 (9 digits,
  6-9 first), +49 (6-13 digits), +33 (9 digits) and by length (8-15 digits)
  elsewhere; ``(0)`` after the country code is dropped. National numbers: the US
  ``(555) 234-5678`` / ``555-234-5678`` (3-3-4 groups, or a leading 1), UK/DE/FR
  (a leading 0 then 10-12 digits, grouped by spaces, dots, dashes, ``/`` or
  parentheses) and Spain (9 digits starting 6-9 in 3-3-3, 3-2-2-2 or 2-3-2-2
  groups); bare digit strings only right after a phone word ("phone", "call",
  "móvil", "Handy", "portable"…, within 40 characters). The nearest telling word
  decides: a number after "order", "tracking", "pedido", "Bestellung", "commande",
  "SSN"… is not a phone (unless it starts with ``+``). Dates (a plausible day,
  month and year), prices, times, 16-digit card-like runs and codes such as
  ``BL-10234`` are never phones.

Kinds are resolved in this order when matches overlap: e-mail, IBAN, card, national
id, phone. Not detected: names, postal addresses, dates of birth, passport numbers,
VAT numbers, German/French/Spanish national ids without their check digits.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.safety._text import fold

KINDS = ("card", "iban", "email", "phone", "national_id")


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data: its kind and where it lies in the text."""

    kind: str
    start: int
    end: int
    text: str


def find_pii(text: str) -> list[PiiMatch]:
    """Every piece of personal data in ``text``, non-overlapping, in order of position."""
    found: list[PiiMatch] = []
    for finder in (_emails, _ibans, _cards, _national_ids, _phones):  # earlier wins overlaps
        for match in finder(text):
            if not any(match.start < kept.end and kept.start < match.end for kept in found):
                found.append(match)
    return sorted(found, key=lambda match: match.start)


def redact(text: str) -> str:
    """``text`` with each piece of personal data replaced by ``[kind]``."""
    parts: list[str] = []
    position = 0
    for match in find_pii(text):
        parts += [text[position : match.start], f"[{match.kind}]"]
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


def redact_nested(value: Any, max_depth: int | None = None) -> Any:
    """``value`` with every string redacted, walking dicts, lists and tuples (new containers;
    the caller's are not changed) down to ``max_depth`` levels (None: all)."""
    if isinstance(value, str):
        return redact(value)
    if max_depth is not None and max_depth <= 0:
        return value
    deeper = None if max_depth is None else max_depth - 1
    if isinstance(value, dict):
        return {key: redact_nested(item, deeper) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_nested(item, deeper) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_nested(item, deeper) for item in value)
    return value


# --- e-mail ---------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,}(?![\w-])")


def _emails(text: str) -> list[PiiMatch]:
    return [PiiMatch("email", m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]


# --- IBAN -----------------------------------------------------------------------------------

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN_START = re.compile(r"(?<![^\W_])([A-Za-z]{2})(\d{2})")


def iban_valid(iban: str) -> bool:
    """ISO 13616: known country, its exact length, and mod-97 of the rearranged number is 1."""
    compact = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ibans(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for start in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(start.group(1).upper())
        if length is None:
            continue
        end = _take_alnum(text, start.start(), length)
        if end is not None and iban_valid(text[start.start() : end]):
            found.append(PiiMatch("iban", start.start(), end, text[start.start() : end]))
    return found


def _take_alnum(text: str, start: int, count: int) -> int | None:
    """End of the first ``count`` letters/digits from ``start`` (single spaces skipped).

    None when they run out first or when the last one is glued to a further one.
    """
    position, taken = start, 0
    while taken < count:
        if position < len(text) and text[position].isascii() and text[position].isalnum():
            taken, position = taken + 1, position + 1
        elif text[position : position + 1] == " " and text[position + 1 : position + 2] != " ":
            position += 1
        else:
            return None
    if position < len(text) and text[position].isalnum():
        return None
    return position


# --- payment cards --------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<![\w-])\d+(?:[ -]\d+)*(?![\w-])")
# (prefixes, lengths) per issuer
_ISSUERS: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...] = (
    (("4",), (13, 16, 19)),  # Visa
    ((*(str(n) for n in range(51, 56)), *(str(n) for n in range(2221, 2721))), (16,)),
    (("34", "37"), (15,)),  # American Express
    (("6011", "65", *(str(n) for n in range(644, 650))), (16, 17, 18, 19)),  # Discover
    (("36", "38", "39", *(str(n) for n in range(300, 306))), (14, 15, 16, 19)),  # Diners
    (tuple(str(n) for n in range(3528, 3590)), (16, 17, 18, 19)),  # JCB
    (("62",), (16, 17, 18, 19)),  # UnionPay
    (("50", "56", "57", "58", "6304", "6759", "6761", "6762", "6763"), tuple(range(13, 20))),
)
_LENGTHS_BY_PREFIX: dict[str, frozenset[int]] = {}
for _prefixes, _lengths in _ISSUERS:
    for _prefix in _prefixes:
        _LENGTHS_BY_PREFIX[_prefix] = _LENGTHS_BY_PREFIX.get(_prefix, frozenset()) | set(_lengths)


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_valid(digits: str) -> bool:
    """13-19 digits, a known issuer prefix at a length it issues, and Luhn-valid."""
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    return len(digits) in _issued_lengths(digits) and luhn_valid(digits)


def _issued_lengths(digits: str) -> frozenset[int]:
    """The lengths the issuers whose prefix ``digits`` starts with give their cards."""
    lengths: frozenset[int] = frozenset()
    for size in (1, 2, 3, 4):
        lengths |= _LENGTHS_BY_PREFIX.get(digits[:size], frozenset())
    return lengths


def _cards(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for run in _DIGIT_RUN.finditer(text):
        offset = run.start()
        groups = [(offset + g.start(), offset + g.end()) for g in _GROUP.finditer(run.group())]
        first = 0
        while first < len(groups):
            match = _card_from(text, groups, first)
            if match is None:
                first += 1
                continue
            found.append(match)
            while first < len(groups) and groups[first][1] <= match.end:
                first += 1
    return found


_GROUP = re.compile(r"\d+")


def _card_from(text: str, groups: list[tuple[int, int]], first: int) -> PiiMatch | None:
    """The longest card number made of whole groups starting at ``groups[first]``."""
    if text[groups[first][0]] not in "23456":  # no issuer starts otherwise
        return None
    candidates: list[tuple[str, int]] = []  # (digits so far, end), 13 to 19 digits
    digits = ""
    for index in range(first, min(first + 19, len(groups))):  # a group holds one digit or more
        start, end = groups[index]
        digits += text[start:end]
        if len(digits) > 19:
            break
        if len(digits) >= 13:
            candidates.append((digits, end))
    lengths = _issued_lengths(candidates[0][0]) if candidates else frozenset()
    for digits, end in reversed(candidates):
        if len(digits) in lengths and luhn_valid(digits):
            start = groups[first][0]
            return PiiMatch("card", start, end, text[start:end])
    return None


# --- national identifiers ---------------------------------------------------------------------

_SSN = re.compile(r"(?<![\w+-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
_SSN_BARE = re.compile(
    r"(?:\bssn|social security(?: number| no\.?| #)?)\W{0,5}(\d{3})[ ]?(\d{2})[ ]?(\d{4})\b",
    re.IGNORECASE,
)
_NINO = re.compile(
    r"(?<![^\W_])([A-Za-z])([A-Za-z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-Da-d])(?![^\W_])"
)
_DNI = re.compile(r"(?<![^\W_])(\d{8})[ -]?([A-Za-z])(?![^\W_])")
_NIE = re.compile(r"(?<![^\W_])([XYZxyz])[ -]?(\d{7})[ -]?([A-Za-z])(?![^\W_])")
_NIR = re.compile(
    r"(?<![\w+-])([12]) ?(\d{2}) ?(0[1-9]|1[0-2]|[2-9]\d) ?(\d{2}|2[ABab]) ?(\d{3}) ?(\d{3})"
    r" ?(\d{2})(?![\w-])"
)
_STEUER_ID = re.compile(r"(?<![\w+-])([1-9]\d) ?(\d{3}) ?(\d{3}) ?(\d{3})(?![\w-])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """The SSA's never-issued ranges: area 000, 666, 900-999; group 00; serial 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nino_valid(prefix: str) -> bool:
    """The two prefix letters of a UK National Insurance number as HMRC allocates them."""
    upper = prefix.upper()
    return (
        upper[0] not in "DFIQUV"
        and upper[1] not in "DFIOQUV"
        and upper not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ")
    )


def dni_letter(number: int) -> str:
    """The check letter of a Spanish DNI (and, with X/Y/Z as 0/1/2, of an NIE)."""
    return _DNI_LETTERS[number % 23]


def nir_valid(nir: str) -> bool:
    """French NIR (15 characters, spaces removed): key = 97 - (first 13 digits mod 97)."""
    compact = nir.replace(" ", "").upper()
    if len(compact) != 15 or not compact[13:].isdigit():
        return False
    body = compact[:13]
    shift = 0
    if body[5:7] in ("2A", "2B"):  # Corsica: 2A counts as 19, 2B as 18, less 1,000,000 / 2,000,000
        shift = 1_000_000 if body[6] == "A" else 2_000_000
        body = body[:5] + "20" + body[7:]
    if not body.isdigit():
        return False
    return 97 - (int(body) - shift) % 97 == int(compact[13:])


def steuer_id_valid(digits: str) -> bool:
    """German tax id: 11 digits, first not 0, one digit 2-3 times in the first ten, ISO 7064."""
    if len(digits) != 11 or not digits.isdigit() or digits[0] == "0":
        return False
    counts = sorted((digits[:10].count(d) for d in set(digits[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] > 1):
        return False
    product = 10
    for char in digits[:10]:
        total = (int(char) + product) % 10 or 10
        product = total * 2 % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


def _national_ids(text: str) -> list[PiiMatch]:
    checks: list[tuple[re.Pattern[str], Callable[[re.Match[str]], bool]]] = [
        (_SSN, lambda m: ssn_valid(*m.groups())),
        (_SSN_BARE, lambda m: ssn_valid(*m.groups())),
        (_NINO, lambda m: nino_valid(m[1] + m[2]) and _one_case(m[0])),
        (_DNI, lambda m: dni_letter(int(m[1])) == m[2].upper()),
        (_NIE, lambda m: dni_letter(int(str("XYZ".index(m[1].upper())) + m[2])) == m[3].upper()),
        (_NIR, lambda m: nir_valid(m[0])),
        (_STEUER_ID, lambda m: steuer_id_valid(m[0].replace(" ", ""))),
    ]
    found: list[PiiMatch] = []
    for pattern, valid in checks:
        for m in pattern.finditer(text):
            if valid(m):
                start, end = m.start(1), m.end(m.lastindex or 0)
                found.append(PiiMatch("national_id", start, end, text[start:end]))
    return found


def _one_case(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return all(c.isupper() for c in letters) or all(c.islower() for c in letters)


# --- phone numbers ----------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+/.,:-])(?:\+|00)?\(?\d{1,5}\)?(?:(?:[ .-]|[ ]?/[ ]?)?\(?\d{1,5}\)?){1,7}"
    r"(?![\w/-]|[.,:]\d)"
)
_DATE = re.compile(r"\b(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})\b")
_PHONE_WORDS = re.compile(
    r"\b(?:phone|telephone|tel|mobile|cell|cellphone|call|ring|text me|sms|whatsapp|reach me|"
    r"contact number|telefono|tlf|movil|celular|llamar|llamad|llamame|llameme|contacto|"
    r"telefon|telefonnummer|handy|handynummer|mobilnummer|rufnummer|festnetz|anrufen|"
    r"erreichbar|portable|fixe|appeler|appelez|joindre|rappeler|numero de telephone)\b"
)
_NOT_PHONE_WORDS = re.compile(
    r"\b(?:orders?|order no|tracking|track|parcel|shipment|invoice|ticket|case number|case no|"
    r"ref|reference|sku|item|article|iban|account number|card|postcode|zip|code|voucher|coupon|"
    r"pedido|pedidos|seguimiento|envio|factura|referencia|albaran|cuenta|tarjeta|codigo|"
    r"bestellung|bestellnummer|auftrag|auftragsnummer|sendung|sendungsnummer|paket|rechnung|"
    r"rechnungsnummer|kundennummer|kontonummer|karte|artikel|commande|suivi|colis|facture|"
    r"dossier|numero de compte|carte|ssn|social security|insurance|dni|nie|nif|steuer-id|"
    r"steuernummer|nir|securite sociale)\b"
)


def _phones(text: str) -> list[PiiMatch]:
    found: list[PiiMatch] = []
    for m in _PHONE.finditer(text):
        candidate = m.group()
        if _has_date(candidate):
            continue
        context = _context_before(text, m.start())
        if candidate.startswith("+"):
            ok = _international_ok(re.sub(r"\D", "", candidate.replace("(0)", "", 1)))
        elif context == "not_phone":
            ok = False
        elif candidate.startswith("00"):
            ok = _international_ok(re.sub(r"\D", "", candidate.replace("(0)", "", 1))[2:])
        else:
            ok = _national_ok(re.sub(r"\D", "", candidate), candidate, context == "phone")
        if ok:
            found.append(PiiMatch("phone", m.start(), m.end(), candidate))
    return found


def _has_date(candidate: str) -> bool:
    """A day, month and year in the candidate: 12/05/2024, 2024-05-12 (not 01.42.68.53)."""
    for match in _DATE.finditer(candidate):
        first, second, third = (int(part) for part in match.groups())
        if len(match[1]) == 4 and 1 <= second <= 12 and 1 <= third <= 31:
            return True
        if (1 <= second <= 12 and 1 <= first <= 31) or (1 <= first <= 12 and 1 <= second <= 31):
            return True
    return False


def _international_ok(digits: str) -> bool:
    """Digits after the ``+``: the national plan's length for the countries we know."""
    if digits.startswith("1"):
        return len(digits) == 11 and digits[1] in "23456789" and digits[4] in "23456789"
    if digits.startswith("44"):
        return len(digits) in (11, 12) and digits[2] != "0"
    if digits.startswith("34"):
        return len(digits) == 11 and digits[2] in "6789"
    if digits.startswith("49"):
        return 8 <= len(digits) <= 15 and digits[2] != "0"
    if digits.startswith("33"):
        return len(digits) == 11 and digits[2] != "0"
    return 8 <= len(digits) <= 15 and digits[:1] != "0"


def _national_ok(digits: str, candidate: str, phone_context: bool) -> bool:
    grouped = bool(re.search(r"[ .()/-]", candidate))
    groups = [len(g) for g in re.findall(r"\d+", candidate)]
    if digits[0] == "0" and digits[1:2] != "0":  # UK, DE, FR (Spain has no trunk 0)
        if 10 <= len(digits) <= 12:
            return grouped or phone_context
        return phone_context and len(digits) == 9 and grouped
    if len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789":  # US
        return groups in ([3, 3, 4], [10]) and (groups == [3, 3, 4] or phone_context)
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":  # US, 1 first
        return groups == [1, 3, 3, 4]
    if len(digits) == 9 and digits[0] in "6789":  # Spain
        return groups in ([3, 3, 3], [3, 2, 2, 2], [2, 3, 2, 2]) or phone_context
    return False


def _context_before(text: str, start: int) -> str | None:
    """``"phone"``, ``"not_phone"`` or None: the nearest telling word in the 40 chars before."""
    window = fold(text[max(0, start - 40) : start])
    best: tuple[int, str] | None = None
    for pattern, label in ((_PHONE_WORDS, "phone"), (_NOT_PHONE_WORDS, "not_phone")):
        for hit in pattern.finditer(window):
            if best is None or hit.end() > best[0]:
                best = (hit.end(), label)
    return None if best is None else best[1]
