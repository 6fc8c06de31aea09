"""How much of a reply its sources support: retrieved passages and tool results.

The reply is split into sentences; questions back to the customer, pleasantries
("I'm sorry to hear that", "Is there anything else…"), sentences opening with
sympathy and holding no number ("I'm sorry to hear the parcel is late") and sentences
with fewer than two content words and no number are not checked. A checked sentence is
supported when at least ``threshold`` of its content words (stopwords of en, es, de
and fr removed; accents, case and endings folded; compared by their first five
letters) appear in one source, and every number in it (amounts, durations, ids;
"thirty" counts as 30) appears in some source. No translation: a Spanish reply is
checked against Spanish passages.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.safety._text import ALL_STOPWORDS, fold, word_set, words

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class GroundingResult:
    """Share of checked sentences supported, how many were checked, and those unsupported."""

    score: float
    sentences: int
    unsupported: tuple[str, ...]


def check_grounding(
    reply: str, sources: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> GroundingResult:
    """Which of the reply's factual sentences the sources support (see the module's doc)."""
    source_stems = [set(_stems(source)) for source in sources]
    source_numbers = set().union(*(_numbers(source) for source in sources))
    checked = 0
    unsupported: list[str] = []
    for sentence in split_sentences(reply):
        if sentence.rstrip().endswith("?"):
            continue
        claim = fold(sentence)
        numbers = _numbers(claim)
        if not numbers and (_EMPATHY.match(claim) or _SCOPE.match(claim)):
            continue  # the customer's news, or what the assistant is for: not a claim
        stems = set(_stems(_PLEASANTRY.sub(" ", claim)))
        if len(stems) < 2 and not numbers:
            continue
        checked += 1
        covered = (
            max((len(stems & known) / len(stems) for known in source_stems), default=0.0)
            if stems
            else 1.0  # only numbers: they decide
        )
        if (stems and covered < threshold) or not numbers <= source_numbers:
            unsupported.append(sentence)
    score = 1.0 if not checked else (checked - len(unsupported)) / checked
    return GroundingResult(round(score, 3), checked, tuple(unsupported))


# --- sentences ------------------------------------------------------------------------------

_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|etc|approx|incl|excl|no|nr|vs|mr|mrs|ms|dr|st|p\.\s?ej|p\.\s?ex|z\.\s?b|"
    r"d\.\s?h|u\.\s?a|usw|bzw|ca|inkl|ggf|evtl|sr|sra|dra|aprox|pag|num|art|env|mme|mlle|"
    r"cf|ex|tel|min|max)\.",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\s*\[(?:\^?\d+(?:\s*[,;–-]\s*\d+)*)\]")
_LIST_MARK = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+", re.MULTILINE)
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'»”)]*\s+(?=[\"'«“¿¡(\[]?[^\W_a-z])|\n+")
_ORDINAL_DATE = re.compile(  # German "am 14. März": no sentence ends there
    r"\b\d{1,2}\.\s(?=(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|"
    r"Oktober|November|Dezember|Mal)\b)"
)
_DOT = "\u2024"  # one-dot leader: a dot that ends no sentence


def split_sentences(text: str) -> list[str]:
    """A reply's sentences: list items and lines apart, "e.g.", "4.5" and "[1]" kept whole."""
    text = _CITATION.sub("", text.replace("**", "").replace("__", ""))
    text = _LIST_MARK.sub("", text)
    text = _ABBREVIATIONS.sub(lambda m: m.group().replace(".", _DOT), text)
    text = re.sub(r"(?<=\d)\.(?=\d)", _DOT, text)
    text = _ORDINAL_DATE.sub(lambda m: m.group().replace(".", _DOT), text)
    parts = (part.strip().replace(_DOT, ".") for part in _BOUNDARY.split(text))
    return [part for part in parts if part and re.search(r"\w", part)]


# --- words and numbers ----------------------------------------------------------------------

_GLUE = word_set(
    """
    can could will would may our us we you your please also just within around about via
    puedes puede podemos pueden tu su sus nuestro nuestra usted le les te tambien solo
    konnen kannst konnten wir ihr ihnen ihre ihren unser unsere gerne einfach pouvez peux
    pouvons nous vous votre vos notre nos simplement
    """
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NUMBER_WORDS = {
    word: str(value)
    for value, spelled in {
        2: "two dos zwei deux", 3: "three tres drei trois", 4: "four cuatro vier quatre",
        5: "five cinco funf cinq", 6: "six seis sechs", 7: "seven siete sieben sept",
        8: "eight ocho acht huit", 9: "nine nueve neun neuf", 10: "ten diez zehn dix",
        12: "twelve doce zwolf douze", 14: "fourteen catorce vierzehn quatorze",
        15: "fifteen quince funfzehn quinze", 20: "twenty veinte zwanzig vingt",
        24: "veinticuatro", 30: "thirty treinta dreissig trente",
        60: "sixty sesenta sechzig soixante", 90: "ninety noventa neunzig",
    }.items()
    for word in spelled.split()
}  # fmt: skip


def _stems(text: str) -> list[str]:
    """Content words, each cut to a light stem: a plural or case ending, then five letters."""
    stems = []
    for word in words(text):
        if word in ALL_STOPWORDS or word in _GLUE or word in _NUMBER_WORDS or word.isdigit():
            continue
        if word.endswith("'") or len(word) < 2:
            continue
        if len(word) >= 4:
            word = re.sub(r"(?:es|en|er|s|e|n)$", "", word)
        stems.append(word[:5])
    return stems


def _numbers(text: str) -> set[str]:
    """Numbers in ``text``, normalised: "6,50" and "6.50" are "6.5"; "thirty" is "30"."""
    found = set()
    for raw in _NUMBER.findall(text):
        number = raw.replace(",", ".")
        if "." in number:
            number = number.rstrip("0").rstrip(".")
        found.add(number.lstrip("0") or "0")
    found |= {_NUMBER_WORDS[word] for word in words(text) if word in _NUMBER_WORDS}
    return found


# A sentence opening with sympathy states the customer's news, not a claim of ours.
_EMPATHY = re.compile(
    r"\W*(?:i'?m (?:so |very |really |truly )?sorry|sorry to hear|i understand|"
    r"(?:lo )?(?:siento|lamento)|entiendo|es tut (?:mir|uns) (?:sehr |wirklich )?leid|"
    r"ich verstehe|(?:je suis )?(?:vraiment )?desolee?|je comprends)\b"
)

# A sentence saying what the assistant can (or cannot) help with describes its scope,
# not the company's facts ("I can help with your orders, returns and our products").
_SCOPE = re.compile(
    r"\W*(?:(?:i|we) (?:can(?:not|'t)?|am (?:not )?able to|'?m (?:not )?able to|could) "
    r"(?:only |also )?help(?: you)? with|(?:i'?m|i am) (?:here|only able) to help(?: you)? with|"
    r"(?:no )?(?:puedo|podemos) ayudar(?:te|le)? (?:con|en)|"
    r"(?:ich kann|wir konnen) (?:ihnen |dir )?(?:nur |leider nicht |nicht )?(?:bei|mit)\b|"
    r"(?:je (?:ne )?peux|nous (?:ne )?pouvons) (?:pas )?vous aider (?:avec|pour|a))"
)

# Pleasantries, folded: removed before a sentence's content words are counted.
_PLEASANTRIES = (
    # en
    r"i'?m (?:so |very |really |truly )?sorry(?: to hear(?: that| about)?| for| about)?",
    r"(?:we|i) (?:sincerely )?apologi[sz]e(?: for)?",
    r"sorry(?: about| for)?",
    r"(?:for )?the inconvenience",
    r"thank(?:s| you)(?: so much| very much)?",
    r"for (?:your|the) (?:patience|message|understanding|waiting)",
    r"for (?:reaching out|contacting us|getting in touch)",
    r"(?:i'?m |i am |we'?re )?(?:happy|glad) to help",
    r"i'?d be (?:happy|glad) to",
    r"is there anything else(?: i can (?:help|do)(?: you)?(?: with)?)?",
    r"let (?:me|us) know(?: if)?",
    r"(?:i )?hope (?:this|that) helps",
    r"have a (?:nice|great|good|lovely|wonderful) (?:day|evening|weekend)",
    r"you'?re welcome",
    r"(?:hello|hi|hey|dear)(?: there)?",
    r"(?:best|kind|warm) regards",
    r"i (?:completely |totally )?understand(?: how| that| your| why)?",
    r"(?:feel free|don'?t hesitate) to (?:contact|reach out to|ask|write to) us",
    r"that'?s (?:frustrating|annoying|not the experience)",
    r"good (?:morning|afternoon|evening)",
    r"certainly|of course|no problem|absolutely",
    # es
    r"lo (?:siento|lamento)(?: mucho)?",
    r"(?:siento|lamento)(?: mucho)?(?: las molestias| lo ocurrido)?",
    r"disculpa(?:s|nos|me)?(?: las molestias)?",
    r"perdona(?: las molestias)?",
    r"(?:muchas )?gracias(?: por (?:tu|su) (?:paciencia|mensaje|comprension))?",
    r"(?:estoy |estamos )?encantad[oa]s? de ayudar(?:te|le)?",
    r"(?:hay )?algo mas en (?:lo )?que (?:pueda|podamos) ayudar(?:te|le)?",
    r"no (?:dudes|dude) en (?:escribirnos|contactarnos|preguntar)",
    r"que (?:tengas|tenga) (?:un )?buen dia",
    r"(?:un )?saludos?(?: cordiales)?",
    r"hola",
    r"buen(?:os|as) (?:dias|tardes|noches)",
    r"entiendo(?: tu| su| que| lo)?(?: frustracion| malestar)?",
    r"espero que (?:esto|te|le) (?:ayude|sirva)",
    r"por supuesto|claro",
    # de
    r"es tut (?:mir|uns) (?:sehr |wirklich )?leid",
    r"tut (?:mir|uns) leid",
    r"entschuldig(?:e|en sie|ung)(?: bitte)?(?: die unannehmlichkeiten)?",
    r"(?:vielen |herzlichen )?danke?(?: schon)?",
    r"fur (?:ihre|deine) (?:geduld|nachricht|anfrage)",
    r"gerne? geschehen",
    r"(?:kann ich|konnen wir) (?:ihnen|dir) (?:sonst )?noch (?:irgendwie )?(?:weiter)?helfen",
    r"melden sie sich (?:gerne|jederzeit)",
    r"ich hoffe,? (?:das|dies) hilft",
    r"(?:einen )?schonen tag(?: noch)?",
    r"(?:mit )?freundlichen grussen|viele grusse",
    r"hallo|guten (?:tag|morgen|abend)",
    r"ich verstehe(?: ihren| ihre| dass| das)?(?: arger| frustration)?",
    r"ich helfe (?:ihnen |dir )?gerne(?: weiter)?",
    r"selbstverstandlich|naturlich",
    # fr
    r"(?:je suis |nous sommes )?(?:vraiment |sincerement )?desole(?:e|s|es)?",
    r"d'apprendre",
    r"(?:toutes )?(?:mes|nos) excuses(?: pour)?",
    r"(?:je vous |nous vous )?remerci(?:e|ons)(?: pour| de)?",
    r"merci(?: beaucoup| bien)?(?: pour| de)?(?: votre)?(?: patience| message| comprehension)?",
    r"n'hesitez pas a (?:nous )?(?:contacter|ecrire|revenir vers nous)",
    r"y a-t-il autre chose",
    r"(?:je reste|nous restons) a votre disposition",
    r"(?:bonne|excellente) (?:journee|soiree)",
    r"cordialement|bien a vous",
    r"bonjour|bonsoir",
    r"je comprends(?: votre| tout a fait)?(?: frustration| agacement)?",
    r"avec plaisir",
    r"j'espere que (?:cela|ceci) (?:vous )?aide(?:ra)?",
    r"bien sur",
)
_PLEASANTRY = re.compile("|".join(rf"\b(?:{pattern})\b" for pattern in _PLEASANTRIES))
