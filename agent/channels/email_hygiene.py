"""E-mail hygiene: what the graph should not see, and messages it should never answer.

``clean_email_text`` keeps the customer's own words: quoted history (``>`` lines, "On …
wrote:" attributions in several languages, Outlook's "Original Message" separators and
"From: … Sent: …" header blocks), signatures (the ``-- `` delimiter, "Sent from my
iPhone" footers, a trailing sign-off block) and runs of blank lines are removed. It is
conservative: a sign-off is dropped only when what follows it looks like a signature, and
nothing that reads like a question is ever cut as one.

``looks_automatic`` recognises out-of-office replies, delivery failures and other bots'
messages by anchored patterns — a subject's prefix, the opening sentences of the body, its
very last line — never by a loose substring, so that "I was out of office when the parcel
came" is a customer's message. ``auto_submitted_header`` reads the e-mail headers where a
payload carries them; ``automatic_sender`` a sender address (noreply, mailer-daemon).
"""

import re
from collections.abc import Iterable, Mapping

_FLAGS = re.IGNORECASE
MAX_SIGNATURE_LINES = 12  # after a "-- " delimiter
MAX_SIGN_OFF_LINES = 6  # after "Best regards," (name, title, company, phone)
MAX_SIGN_OFF_WORDS = 5  # per line of such a block: a sentence is not a signature
MAX_PASSES = 10
MAX_EMAIL_CHARS = 100_000  # the customer's words are at the top; the rest is history

# --- quoted history ---------------------------------------------------------------------

_QUOTED = re.compile(r"\s*>")
# "On <date>, <name> wrote:" and its translations: an opener, a digit, the verb near the end.
_OPENER = re.compile(r"\s*(?:On|Am|Le|El|Op|Em|No dia|Il|Il giorno)\s", _FLAGS)
_WROTE_END = re.compile(
    r"\b(?:wrote|schrieb|a\s+écrit|escribió|schreef|escreveu|ha\s+scritto)"
    r"(?:\s+[^:]{0,120})?\s*:\s*$",
    _FLAGS,
)
_WROTE_ON = re.compile(r"\s*\S.{0,100}?\s(?:schrieb\s+am|wrote\s+on)\s", _FLAGS)
_ORIGINAL_MESSAGE = re.compile(
    r"\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Originalnachricht|"
    r"Message d'origine|Mensaje original|Oorspronkelijk bericht|Messaggio originale|"
    r"Mensagem original)\s*-{2,}\s*",
    _FLAGS,
)
_HEADER_FROM = re.compile(r"\s*\*?(?:From|Von|De|Van|Da)\s?:\*?\s*\S", _FLAGS)
_HEADER_SENT = re.compile(
    r"\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Verzonden|Inviato|Data)"
    r"\s?:",
    _FLAGS,
)
_HEADER_SUBJECT = re.compile(
    r"\s*\*?(?:Subject|Betreff|Objet|Asunto|Onderwerp|Oggetto|Assunto)\s?:", _FLAGS
)
HEADER_BLOCK_LINES = 6

# --- signatures -------------------------------------------------------------------------

_DELIMITER = re.compile(r"--\s*")
_MOBILE_FOOTER = re.compile(
    r"\s*(?:Sent from my \w[\w ]{0,40}|Sent from (?:Mail|Outlook|Yahoo Mail|Gmail)\b[\w ]{0,40}|"
    r"Get Outlook for \w+|Von meinem \w[\w ]{0,30} gesendet|Gesendet von meinem \w[\w ]{0,30}|"
    r"Envoyé de mon \w[\w ]{0,30}|Enviado desde mi \w[\w ]{0,30}|"
    r"Verzonden (?:vanaf|met) mijn \w[\w ]{0,30}|Verstuurd vanaf mijn \w[\w ]{0,30}|"
    r"Inviato da(?: il mio)? \w[\w ]{0,30}|Enviado do meu \w[\w ]{0,30})\s*[.!]?\s*",
    _FLAGS,
)
_SIGN_OFF = re.compile(
    r"\s*(?:(?:best|kind|warm|many)\s+(?:regards|wishes)|regards|best|cheers|thanks|"
    r"thank\s+you|many\s+thanks|sincerely|yours(?:\s+(?:sincerely|truly))?|"
    r"mit\s+freundlichen\s+grüßen|freundliche\s+grüße|viele\s+grüße|beste\s+grüße|lg|mfg|"
    r"cordialement|bien\s+à\s+vous|merci|bien\s+cordialement|saludos(?:\s+cordiales)?|"
    r"un\s+saludo|atentamente|gracias|met\s+vriendelijke\s+groet(?:en)?|groeten|"
    r"vriendelijke\s+groet(?:en)?|cordiali\s+saluti|distinti\s+saluti|saluti|grazie|"
    r"atenciosamente|cumprimentos|obrigad[oa])\s*[,.!]?\s*",
    _FLAGS,
)
_POSTSCRIPT = re.compile(r"\s*P\.?\s?S\b", _FLAGS)
_REFERENCE = re.compile(
    r"#|\b(?:order|bestellung|commande|pedido|bestelling|ordine|encomenda|ticket|invoice|"
    r"rechnung|facture|factura|tracking)\b",
    _FLAGS,
)
_RULE = re.compile(r"\s*[-_=*]{2,}\s*")

# --- automatic messages -----------------------------------------------------------------

_SUBJECT_MARKER = (
    r"out\s+of\s+(?:the\s+)?office(?:\s+auto-?reply)?|absence(?:\s+du\s+bureau)?|"
    r"abwesenheit(?:snotiz)?|fuera\s+de\s+(?:la\s+)?oficina|fuori\s+(?:sede|ufficio)|ausente|"
    r"ausência|afwezig(?:heidsbericht)?|automatic\s+reply|auto-?(?:matic\s+)?(?:reply|response|"
    r"answer)|autoreply|autorespond(?:er)?|automatische\s+antwort|automatisch\s+antwoord|"
    r"réponse\s+automatique|respuesta\s+automática|risposta\s+automatica|"
    r"resposta\s+automática|mensagem\s+automática|"
    r"undeliverable|undelivered\s+mail\s+returned\s+to\s+sender|"
    r"delivery\s+status\s+notification|mail\s+delivery\s+(?:failed|failure|subsystem)|"
    r"delivery\s+failure\s+notification|returned\s+mail|failure\s+notice|unzustellbar|"
    r"non\s+remis|no\s+se\s+puede\s+entregar|onbestelbaar|non\s+recapitabile|"
    r"não\s+(?:foi\s+possível\s+)?entreg\w*"
)
# A marker that the subject starts with, then ":", "(", "]" or nothing more: "Automatic
# reply: Your order", "[Auto-Reply] …", "Delivery Status Notification (Failure)".
_SUBJECT_PREFIX = re.compile(
    rf"\s*(?:\[\s*(?:{_SUBJECT_MARKER})\s*\]|(?:{_SUBJECT_MARKER})\s*(?::|\(|$))", _FLAGS
)
_STRONG_OPENING = re.compile(
    r"[\s*#=_-]{0,5}(?:"
    r"this\s+is\s+an?\s+automat(?:ed|ic|ically\s+generated)\s+"
    r"(?:message|reply|response|e-?mail|notification|answer)|"
    r"this\s+(?:message|e-?mail)\s+(?:is|was)\s+(?:an?\s+automat|automatically|auto-?generated|"
    r"sent\s+automatically)|"
    r"(?:please\s+)?do\s+not\s+reply\s+to\s+this\s+(?:e-?mail|message)|"
    r"this\s+(?:e-?mail\s+address|mailbox|inbox)\s+is\s+not\s+monitored|"
    r"your\s+(?:request|ticket|case|enquiry|inquiry)\s+\(?#\s?[\w-]+\)?\s+"
    r"has\s+been\s+(?:received|created|logged)|"
    r"(?:automatic|auto)[- ]?reply\s*(?::|$)|"
    r"dies\s+ist\s+eine\s+automatische\s+(?:antwort|nachricht|e-?mail)|"
    r"diese\s+(?:nachricht|e-?mail)\s+wurde\s+automatisch|"
    r"ceci\s+est\s+(?:un\s+message|une\s+réponse)\s+automatique|"
    r"(?:este\s+es\s+un\s+mensaje|esta\s+es\s+una\s+respuesta)\s+automátic[oa]|"
    r"dit\s+is\s+een\s+automatisch(?:\s+gegenereerd)?\s+(?:bericht|antwoord)|"
    r"(?:questo\s+è\s+un\s+messaggio|questa\s+è\s+una\s+risposta)\s+automatic[oa]|"
    r"esta\s+é\s+uma\s+(?:mensagem|resposta)\s+automática|"
    # delivery failures
    r"mail\s+delivery\s+(?:subsystem|failed)|mailer-daemon|"
    r"this\s+is\s+the\s+mail\s+system\s+at\s+host|"
    r"delivery\s+to\s+the\s+following\s+recipients?\s+failed|"
    r"delivery\s+has\s+failed\s+to\s+these\s+recipients|"
    r"your\s+message\s+(?:to\s+\S+\s+)?(?:wasn't|was\s+not|couldn't|could\s+not|cannot)\s+be\s+"
    r"delivered|"
    r"the\s+following\s+message\s+to\s+\S+\s+was\s+undeliverable|"
    r"i'm\s+sorry\s+to\s+have\s+to\s+inform\s+you\s+that\s+your\s+message|"
    r"\*\*\s*(?:address\s+not\s+found|message\s+not\s+delivered|delivery\s+incomplete)\s*\*\*|"
    r"ihre\s+nachricht\s+konnte\s+nicht\s+zugestellt|"
    r"votre\s+message\s+n'a\s+pas\s+pu\s+être\s+(?:remis|distribué)|"
    r"(?:su\s+mensaje\s+)?no\s+se\s+(?:pudo|ha\s+podido)\s+entregar)",
    _FLAGS,
)
_AWAY_OPENING = re.compile(
    r"[\s*]{0,3}(?:"
    r"i(?:\s+am|'m)\s+(?:currently\s+|now\s+)?(?:out\s+of\s+(?:the\s+)?office|away|absent|"
    r"on\s+(?:annual\s+|parental\s+|sick\s+|maternity\s+|paternity\s+)?(?:leave|vacation|holiday))|"
    r"ich\s+bin\s+(?:\S+\s+){0,5}?(?:nicht\s+im\s+büro|abwesend|im\s+urlaub|außer\s+haus)|"
    r"je\s+suis\s+(?:actuellement\s+)?(?:absente?|en\s+congés?|en\s+vacances)|"
    r"estoy\s+(?:\S+\s+){0,4}?(?:fuera\s+de\s+la\s+oficina|de\s+vacaciones|ausente)|"
    r"ik\s+ben\s+(?:\S+\s+){0,4}?(?:afwezig|niet\s+op\s+kantoor|op\s+vakantie)|"
    r"sono\s+(?:\S+\s+){0,4}?(?:fuori\s+(?:sede|ufficio)|assente|in\s+ferie)|"
    r"estou\s+(?:\S+\s+){0,4}?(?:ausente|fora\s+do\s+escritório|de\s+férias))",
    _FLAGS,
)
_AWAY_CONFIRMATION = re.compile(
    r"limited\s+access|(?:no|without)\s+access\s+to\s+(?:my\s+)?e-?mail|upon\s+my\s+return|"
    r"when\s+i\s+return|in\s+my\s+absence|for\s+urgent\s+(?:matters|requests|issues|enquiries|"
    r"inquiries)|will\s+(?:respond|reply|get\s+back\s+to\s+you)\s+(?:to\s+your\s+\w+\s+)?"
    r"(?:as\s+soon\s+as|when|upon|after|on\s+my)|"
    r"zugriff\s+auf\s+(?:meine\s+)?e-?mails|nach\s+meiner\s+rückkehr|in\s+dringenden\s+fällen|"
    r"à\s+mon\s+retour|accès\s+(?:limité|restreint)|en\s+cas\s+d'urgence|"
    r"a\s+mi\s+(?:regreso|vuelta)|acceso\s+limitado|(?:para\s+asuntos\s+urgentes|"
    r"en\s+caso\s+de\s+urgencia)|na\s+mijn\s+terugkeer|beperkt\s+toegang|"
    r"(?:in\s+dringende\s+gevallen|voor\s+dringende\s+zaken)|al\s+mio\s+rientro|"
    r"accesso\s+limitato|per\s+urgenze|in\s+caso\s+di\s+urgenza|"
    r"(?:no\s+meu\s+regresso|quando\s+(?:regressar|retornar))|acesso\s+limitado|"
    r"(?:para\s+assuntos\s+urgentes|em\s+caso\s+de\s+urgência)",
    _FLAGS,
)
_GREETING = re.compile(
    r"\s*(?:hello|hi|hey|dear|good\s+(?:morning|afternoon|day)|hallo|guten\s+tag|"
    r"sehr\s+geehrte|liebe|bonjour|madame|monsieur|hola|estimad[oa]s?|beste|geachte|"
    r"buongiorno|gentile|salve|olá|prezad[oa])\b[^\n]{0,60}[,!:]?\s*",
    _FLAGS,
)
_FINAL_LINE = re.compile(
    r"[\s*#=_-]{0,5}(?:please\s+)?do\s+not\s+reply\s+to\s+this\s+(?:e-?mail|message)(?:\s+address)?"
    r"|this\s+(?:e-?mail|message)\s+was\s+(?:sent|generated)\s+automatically"
    r"|this\s+is\s+an\s+automat(?:ed|ically\s+generated)\s+(?:message|e-?mail)",
    _FLAGS,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-ZÀ-Þ*])|\n+")
OPENING_SENTENCES = 2
OPENING_CHARS = 600
MAX_ATTRIBUTION_CHARS = 400
MAX_ADDRESS_CHARS = 320

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-failed-recipients")
_BULK_PRECEDENCE = ("bulk", "junk", "auto_reply")
_NO = ("no", "none", "false", "0")
_NOT_SET = ("", *_NO)  # a header present with no value is set
_MACHINE_NAME = r"(?:no-?reply|do-?not-?reply|mailer-daemon|postmaster|auto-?reply|bounces?)"
# The local part is the machine's name, or starts or ends with it: noreply@,
# bounces+1234@, shop-noreply@ (not jane.noreply-fan@).
_AUTOMATIC_SENDER = re.compile(
    rf"(?:^|[\s<]){_MACHINE_NAME}(?:[._+-][^@\s<]*)?@|"
    rf"(?:^|[\s<])[^@\s<]*[._+-]{_MACHINE_NAME}@",
    _FLAGS,
)


def clean_email_text(text: str) -> str:
    """The customer's own words: quoted history and signature removed."""
    text = text[:MAX_EMAIL_CHARS]
    for _ in range(MAX_PASSES):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def looks_automatic(text: str, subject: str = "") -> bool:
    """True for an auto-reply, an out-of-office, a bounce or another bot's message."""
    if _SUBJECT_PREFIX.match(subject[:MAX_ATTRIBUTION_CHARS]):
        return True
    own = _tidy(_without_quotes(_lines(text[:MAX_EMAIL_CHARS])))
    opening = _opening_sentences(own)
    if any(_STRONG_OPENING.match(sentence) for sentence in opening):
        return True
    away = any(_AWAY_OPENING.match(sentence) for sentence in opening)
    if away and _AWAY_CONFIRMATION.search("\n".join(own)[:OPENING_CHARS]):
        return True
    return bool(own) and _FINAL_LINE.fullmatch(own[-1].strip(" .!")) is not None


def auto_submitted_header(headers: Mapping[str, object]) -> bool:
    """True when the e-mail's headers mark it as sent by software (RFC 3834 and the
    de-facto headers of Exchange and autoresponders), not by a person."""
    found = {str(name).lower(): _header_value(value) for name, value in headers.items()}
    if found.get("auto-submitted", "no").split(";")[0].strip() not in _NOT_SET:
        return True
    if any(found[name] not in _NO for name in _AUTO_HEADERS if name in found):
        return True
    if found.get("precedence", "") in _BULK_PRECEDENCE:
        return True
    return found.get("x-auto-response-suppress", "") not in _NOT_SET


def automatic_sender(address: str) -> bool:
    """A no-reply, mailer-daemon, postmaster or bounce address: a machine, never answered."""
    return _AUTOMATIC_SENDER.search(address[:MAX_ADDRESS_CHARS]) is not None


def _header_value(value: object) -> str:
    if isinstance(value, list | tuple):
        value = ", ".join(str(item) for item in value)
    return str(value).strip().lower()


def _clean_once(text: str) -> str:
    lines = _without_quotes(_lines(text))
    return "\n".join(_tidy(_without_signature(_tidy(lines))))


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def _tidy(lines: Iterable[str]) -> list[str]:
    """No trailing spaces, no leading, trailing or repeated blank lines, no trailing rules."""
    kept: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (kept and kept[-1]):
            kept.append(line)
    while kept and (not kept[-1] or _RULE.fullmatch(kept[-1])):
        kept.pop()
    return kept


# --- quoted history ---------------------------------------------------------------------


def _without_quotes(lines: list[str]) -> list[str]:
    """Lines before the quoted history; an attribution followed by ``>`` lines goes with
    them and the customer's words after them (a bottom-posted reply) stay."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _QUOTED.match(line):
            index += 1
            continue
        span = _attribution_span(lines, index)
        if span and _quoted_follows(lines, index + span):
            index += span
            continue
        if span or _history_starts(lines, index):
            break
        kept.append(line)
        index += 1
    return kept


def _attribution_span(lines: list[str], index: int) -> int:
    """How many lines the "On <date>, <name> wrote:" at ``index`` takes (clients wrap
    it), 0 when there is none."""
    line = lines[index]
    if _is_attribution(line):
        return 1
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if following and not _QUOTED.match(following) and _is_attribution(f"{line} {following}"):
        return 2
    return 0


def _is_attribution(line: str) -> bool:
    if len(line) > MAX_ATTRIBUTION_CHARS or not line.rstrip().endswith(":"):
        return False
    if not any(char.isdigit() for char in line):
        return False
    if _OPENER.match(line) and _WROTE_END.search(line):
        return True
    return _WROTE_ON.match(line) is not None


def _quoted_follows(lines: list[str], index: int) -> bool:
    for line in lines[index:]:
        if line.strip():
            return _QUOTED.match(line) is not None
    return False


def _history_starts(lines: list[str], index: int) -> bool:
    """An Outlook separator, or Outlook's header block: "From:", "Sent:" right after it,
    and a "Subject:" a few lines on (a customer's "From: Berlin / To: Munich" stays)."""
    if _ORIGINAL_MESSAGE.fullmatch(lines[index]):
        return True
    if not _HEADER_FROM.match(lines[index]) or index + 1 >= len(lines):
        return False
    block = lines[index + 2 : index + HEADER_BLOCK_LINES]
    return bool(_HEADER_SENT.match(lines[index + 1])) and any(
        _HEADER_SUBJECT.match(line) for line in block
    )


# --- signatures -------------------------------------------------------------------------


def _without_signature(lines: list[str]) -> list[str]:
    lines = [line for line in lines if not _MOBILE_FOOTER.fullmatch(line)]
    cut = _delimiter_cut(lines)
    if cut is None:
        cut = _sign_off_cut(lines)
    return lines if cut is None else lines[:cut]


def _delimiter_cut(lines: list[str]) -> int | None:
    """Where the last "-- " delimiter starts a short trailing block, after some words."""
    for index in range(len(lines) - 1, 0, -1):
        if _DELIMITER.fullmatch(lines[index]):
            tail = [line for line in lines[index + 1 :] if line.strip()]
            first = _first_words(lines)
            questions = any(line.endswith("?") for line in tail)
            if len(tail) <= MAX_SIGNATURE_LINES and not questions and first is not None:
                return index if first < index else None
            return None
    return None


def _sign_off_cut(lines: list[str]) -> int | None:
    """Where "Best regards," starts a trailing block of short, signature-like lines."""
    first = _first_words(lines)
    filled = [index for index, line in enumerate(lines) if line.strip()]
    for index in filled[-(MAX_SIGN_OFF_LINES + 1) :]:
        if first is None or index <= first or not _SIGN_OFF.fullmatch(lines[index]):
            continue
        if _signature_like(lines[index + 1 :]):
            return index
    return None


def _signature_like(lines: list[str]) -> bool:
    tail = [line.strip() for line in lines if line.strip()]
    return len(tail) <= MAX_SIGN_OFF_LINES and all(
        len(line.split()) <= MAX_SIGN_OFF_WORDS
        and "?" not in line
        and not _POSTSCRIPT.match(line)
        and not _REFERENCE.search(line)
        for line in tail
    )


def _first_words(lines: list[str]) -> int | None:
    """The first line with a letter or digit in it."""
    return next(
        (index for index, line in enumerate(lines) if any(char.isalnum() for char in line)), None
    )


# --- automatic messages -----------------------------------------------------------------


def _opening_sentences(lines: list[str]) -> list[str]:
    """The first sentences of the body, after a greeting line ("Hello Jane,")."""
    start = 0
    while start < len(lines) and (not lines[start].strip() or _greeting_only(lines[start])):
        start += 1
    opening = "\n".join(lines[start:])[:OPENING_CHARS]
    sentences = [part.strip() for part in _SENTENCE_END.split(opening) if part.strip()]
    return sentences[:OPENING_SENTENCES]


def _greeting_only(line: str) -> bool:
    return _GREETING.fullmatch(line) is not None and len(line) <= 60
