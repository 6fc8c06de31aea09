"""Text helpers shared by the checks: accent- and case-folding, words, stopwords."""

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def fold(text: str) -> str:
    """Casefolded, accents stripped (NFKD), whitespace collapsed: ``"Ça  VA"`` → ``"ca va"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(without_marks.replace("’", "'").split())


def words(text: str) -> list[str]:
    """The folded words of ``text``: letters and digits, an inner apostrophe kept.

    A French elision is split off as a word of its own: ``"l'adresse"`` → ``"l'"``,
    ``"adresse"``; English contractions stay whole (``"don't"``).
    """
    found: list[str] = []
    for word in _WORD.findall(fold(text)):
        head, apostrophe, rest = word.partition("'")
        if apostrophe and head in _ELIDED and len(rest) > 1:
            found += [head + "'", rest]
        else:
            found.append(word)
    return found


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``, as a set."""
    return frozenset(text.split())


_ELIDED = frozenset({"l", "d", "j", "qu", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu"})


# The most frequent function words of each language, folded (no accents). Used by the
# language guess and, merged, to tell content words from glue in the grounding check.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": word_set(
        """
        the a an and or but of to in on at for with from by about as into over after
        before is are was were be been being am do does did have has had having will
        would can could should shall may might must i you he she it we they me him her
        us them my your his its our their this that these those there here what which
        who whom whose when where why how not no yes if then than so too very just also
        only all any some each every both either i'm i've i'd i'll you're you've don't
        doesn't didn't can't won't isn't aren't wasn't it's that's there's what's please
        thanks thank hi hello dear still yet again up out get got would've let's
        """
    ),
    "es": word_set(
        """
        el la los las un una unos unas y o pero de del al a en con por para sin sobre
        entre hasta desde es son era eran fue ser estar esta estan estoy estaba he ha
        han hemos habia tengo tiene tienen tenemos hay yo tu usted ustedes nosotros
        ellos ellas me te se nos le les lo mi mis su sus tus nuestro nuestra este esta
        estos estas ese esa eso esto que quien cual cuando donde como porque por que si
        no ni muy mas menos tambien ya todavia aun pero hola gracias favor buenos buenas
        dias quiero puedo puede podria necesito
        """
    ),
    "de": word_set(
        """
        der die das den dem des ein eine einen einem einer eines und oder aber von zu im
        in am an auf mit fur aus bei nach vor uber unter um durch ohne ist sind war
        waren bin bist sein habe hat haben hatte hatten wird werden wurde kann konnen
        konnte muss mussen soll ich du er sie es wir ihr mich mir dich dir ihn ihm uns
        euch ihnen mein meine meinen meinem meiner dein deine ihre ihren ihrem unser
        unsere dieser diese dieses diesen was wer wie wo wann warum welche welcher nicht
        kein keine keinen noch schon auch nur sehr ja nein bitte danke hallo guten tag
        sich dass wenn weil ob als doch mal jetzt immer
        """
    ),
    "fr": word_set(
        """
        le la les l' un une des du de d' et ou mais a au aux en dans sur sous avec pour
        par sans chez est sont etait etaient suis es sommes etes ete etre ai as avons
        avez ont avait je tu il elle on nous vous ils elles me m' te t' se s' moi toi
        lui leur leurs mon ma mes ton ta tes son sa ses notre nos votre vos ce cet cette
        ces c' ca qui que qu' quoi quand comment pourquoi ne pas plus jamais rien tres
        aussi deja encore toujours si oui non bonjour merci svp plait j' n' y il ai
        """
    ),
}

ALL_STOPWORDS: frozenset[str] = frozenset().union(*STOPWORDS.values())
