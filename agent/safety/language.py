"""Which language a short message is in: stopwords, a few common words and letters.

Each candidate scores its stopwords and common support words found in the message
(a word shared by several languages counts for each, divided among them), its
telling letters ("ñ", "¿" for Spanish; "ß", "ü" for German; "ç", "è" for French) and,
a little, its typical word endings ("-ción", "-ung", "-eaux", "-ing"). The best wins
when it leads clearly; otherwise None.
"""

import re
import unicodedata
from collections.abc import Sequence

from agent.safety._text import STOPWORDS, word_set, words

_COMMON = {
    "en": word_set(
        """
        order orders refund delivery parcel package shipping received account password
        email return item arrived help would like need when where why how
        """
    ),
    "es": word_set(
        """
        pedido pedidos reembolso entrega paquete envio recibido cuenta contrasena correo
        devolucion articulo llegado ayuda quisiera necesito cuando donde gracias hola
        """
    ),
    "de": word_set(
        """
        bestellung bestellungen erstattung lieferung paket versand erhalten konto
        passwort rucksendung artikel angekommen hilfe mochte brauche wann warum
        """
    ),
    "fr": word_set(
        """
        commande commandes remboursement livraison colis envoi recu compte mot passe
        retour article arrive aide voudrais besoin quand pourquoi merci bonjour
        """
    ),
}
_LETTERS = {
    "es": "ñ¿¡áíóú",
    "de": "ßäöü",
    "fr": "çœèêëàâîïôûù",
}
_NOT_WORDS = re.compile(  # markup, addresses, links and anything with a digit
    r"<[^<>]{0,80}>|(?<!\S)\S*(?:@|://|\d)\S*"
)
_ENDINGS = {
    "en": re.compile(r"(?:ing|tion|ed|'s|n't)$"),
    "es": re.compile(r"(?:cion|ciones|mente|ado|ada|idos|amos|emos)$"),
    "de": re.compile(r"(?:ung|ungen|keit|heit|lich|chen|isch)$|^ge\w{4,}(?:t|en)$"),
    "fr": re.compile(r"(?:eaux|eux|euse|ait|aient|ons|ez|oir)$"),
}


def detect_language(text: str, candidates: Sequence[str] = ("en", "es", "de", "fr")) -> str | None:
    """The message's language among ``candidates``, or None when too short or unclear."""
    text = _NOT_WORDS.sub(" ", text)
    tokens = [token for token in words(text) if not token.isdigit()]
    if len(tokens) < 2:
        return None
    scores = {language: 0.0 for language in candidates}
    for token in tokens:
        holders = [
            language
            for language in candidates
            if token in STOPWORDS.get(language, ()) or token in _COMMON.get(language, ())
        ]
        for language in holders:
            scores[language] += 1 / len(holders)
        for language in candidates:
            ending = _ENDINGS.get(language)
            if not holders and ending is not None and ending.search(token):
                scores[language] += 0.25
    lowered = unicodedata.normalize("NFC", text.casefold())
    for language in candidates:
        seen = {c for c in _LETTERS.get(language, "") if c in lowered}
        scores[language] += min(len(seen), 2) * 0.75
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    best, top = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    needed = 1.0 if len(tokens) >= 3 else 1.5
    if top < needed or top - runner_up < 0.5:
        return None
    return best
