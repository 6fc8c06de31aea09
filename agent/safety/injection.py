"""Prompt-injection and abuse signals in a customer message (en, es, de, fr).

Matching runs on the folded text (NFKD, accents stripped, casefolded), so "IGNORIERE"
and "ignoriere", "révèle" and "revele" are the same. Each signal has a reason name:
injection ``override``, ``reveal_prompt``, ``role_play``, ``jailbreak``, ``role_tag``,
``tool_markup``, ``other_customer``, ``encoded_instructions``; abuse ``insult``,
``threat``, ``slur``. A frustrated or mildly rude message ("this is ridiculous",
"your service is useless") is not abuse: see ``topics.is_negative``.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from agent.safety._text import fold


@dataclass(frozen=True)
class GuardVerdict:
    """What the guard saw: injection and abuse flags, and the reasons behind them."""

    injection: bool
    abuse: bool
    reasons: tuple[str, ...]


def inspect_message(text: str) -> GuardVerdict:
    """Prompt-injection and abuse signals in one customer message."""
    folded = _fold_lines(text)
    injection = _injection_reasons(text, folded)
    if not injection and _encoded_instructions(text, folded):
        injection = ["encoded_instructions"]
    abuse = abuse_reasons(text, folded)
    return GuardVerdict(bool(injection), bool(abuse), tuple(injection + abuse))


def abuse_reasons(text: str, folded: str | None = None) -> list[str]:
    """The abuse signals (``insult``, ``threat``, ``slur``) in ``text``."""
    folded = _fold_lines(text) if folded is None else folded
    return [reason for reason, patterns in _ABUSE if any(p.search(folded) for p in patterns)]


def _fold_lines(text: str) -> str:
    """``fold`` line by line, so that ``^`` still finds the start of each line."""
    return "\n".join(fold(line) for line in text.splitlines())


def _injection_reasons(text: str, folded: str) -> list[str]:
    reasons = [
        reason
        for reason, patterns in _INJECTION
        if any(_counts(reason, folded, hit) for p in patterns for hit in p.finditer(folded))
    ]
    if "jailbreak" not in reasons and _DAN.search(text):  # only in capitals: Spanish "dan"
        reasons.append("jailbreak")
    return reasons


def _counts(reason: str, folded: str, hit: re.Match[str]) -> bool:
    """An override aimed at delivery or care instructions is no override."""
    return reason != "override" or not _DOMAIN.search(folded, hit.start(), hit.end() + 30)


def _words(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


def _compile(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.MULTILINE) for pattern in patterns)


_DOMAIN = re.compile(
    r"\b(?:delivery|shipping|assembly|care|washing|cleaning|installation|return|returns|"
    r"entrega|envio|montaje|lavado|cuidado|uso|instalacion|devolucion|liefer\w*|versand\w*|"
    r"aufbau\w*|montage\w*|pflege\w*|wasch\w*|reinigung\w*|rucksend\w*|livraison|entretien|"
    r"lavage|utilisation|retour)\b"
)
_GAP = r"(?:\W+\w+){0,4}?\W+"  # up to four words in between

# --- injection: the nouns and verbs ---------------------------------------------------------

_RULES = {
    "en": _words(
        r"instructions?", "prompts?", "rules", "directions", "guidelines", "directives",
        "programming", "constraints", "guardrails", "restrictions", "system message",
    ),
    "es": _words(
        "instrucciones", "indicaciones", "reglas", "normas", "directrices", "ordenes",
        "prompt", "restricciones", "programacion",
    ),
    "de": _words(
        "anweisungen?", "instruktionen", "regeln", "vorgaben", "befehle", "richtlinien",
        r"system-?prompt", "prompt", "einschrankungen", "programmierung",
    ),
    "fr": _words(
        "instructions?", "consignes", "regles", "directives", "prompt", "restrictions",
        "programmation",
    ),
}  # fmt: skip
_OVERRIDE_VERBS = {
    "es": _words(
        "ignora", "ignore", "ignorad", "olvida", "olvide", "olvidad", "omite", "descarta",
        "saltate", "pasa de",
    ),
    "de": _words(
        "ignoriere", "ignorier", "ignoriert", "ignorieren sie", "vergiss", "vergesst",
        "vergessen sie", "missachte", "uberspringe", "umgehe",
    ),
    "fr": _words(
        "ignore", "ignorez", "oublie", "oubliez", "ne tiens pas compte de",
        "ne tenez pas compte de", "fais abstraction de", "contourne",
    ),
}  # fmt: skip
_EARLIER_EN = _words(
    "previous", "prior", "above", "earlier", "preceding", "initial", "original", "system",
    "all", "your",
)  # fmt: skip
_PROMPT = _words(
    r"system ?-?prompt", r"initial prompt", r"hidden (?:prompt|instructions)",
    r"system message", r"prompt (?:above|initial|systeme|del sistema|de sistema)",
    r"(?:your|tu|tus|su|sus|dein|deinen|ihr|ihren|ton|tes|votre|vos) prompt",
    r"instrucciones (?:del sistema|internas|iniciales|ocultas|originales)",
    r"(?:system|interne[n]?|versteckte[n]?|geheime[n]?|ursprunglichen?) ?anweisungen",
    r"instructions (?:systeme|internes|initiales|cachees|secretes|d'origine)",
    r"message (?:du )?systeme", r"mensaje del sistema", r"systemnachricht",
)  # fmt: skip
_SHOW = {
    "en": _words(
        "reveal", "show", "print", "repeat", "display", "output", "tell me", "give me",
        "what (?:is|are)", "leak", "dump", "share", "write out", "recite", "paste",
    ),
    "es": _words(
        "muestra(?:me)?", "revela(?:me)?", "imprime", "dime", "escribe", "repite", "ensename",
        "dame", "cual es", "copia",
    ),
    "de": _words(
        "zeig(?:e|en sie)?(?: mir)?", "gib(?: mir)?", "verrate?", "nenne", "drucke?",
        "wiederhole", "schreib(?:e)?", "was ist", "kopiere",
    ),
    "fr": _words(
        "montre", "montrez", "revele", "revelez", "affiche", "affichez", "donne", "donnez",
        "ecris", "ecrivez", "repete", "repetez", "dis", "dites", "quel est", "copie",
    ),
}  # fmt: skip

_INJECTION: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    (
        "override",
        _compile(
            rf"\b{_words('ignore', 'disregard', 'forget', 'override', 'bypass', 'skip')}"
            rf"{_GAP}{_EARLIER_EN}(?:\W+\w+)?\W+{_RULES['en']}\b",
            r"\b(?:ignore|disregard|forget) (?:everything|all(?: of)? that|anything) "
            r"(?:above|before|you (?:were|have been) told|in your (?:prompt|instructions))",
            r"\bnew (?:instructions|rules|system prompt)\s*:",
            r"\byour (?:new )?(?:instructions|rules) (?:are|now are) (?:now|as follows)",
            rf"\b{_OVERRIDE_VERBS['es']}{_GAP}{_RULES['es']}\b",
            r"\b(?:ignora|olvida|olvide|ignore) todo lo (?:anterior|que te (?:han|hayan) dicho|"
            r"que te dijeron)",
            r"\bnuevas (?:instrucciones|reglas)\s*:",
            rf"\b{_OVERRIDE_VERBS['de']}{_GAP}{_RULES['de']}\b",
            r"\bvergiss (?:alles|alle)(?:,)? (?:was|die) (?:man )?dir (?:gesagt|vorgegeben)",
            r"\bneue (?:anweisungen|regeln)\s*:",
            rf"\b{_OVERRIDE_VERBS['fr']}{_GAP}{_RULES['fr']}\b",
            r"\b(?:oublie|oubliez) tout ce qu(?:e |')(?:on t'a|l'on t'a|tu as|on vous a) "
            r"(?:dit|appris)",
            r"\bnouvelles (?:instructions|consignes|regles)\s*:",
        ),
    ),
    (
        "reveal_prompt",
        _compile(
            *(rf"\b{verbs}{_GAP}{_PROMPT}" for verbs in _SHOW.values()),
            # weaker nouns ("your instructions") only with verbs a customer has no use for
            r"\b(?:reveal|print|repeat|output|dump|leak|recite)\b.{0,30}\byour "
            r"(?:instructions|rules|guidelines|configuration)",
            r"\b(?:your|the) (?:instructions|rules|prompt) (?:verbatim|word for word)",
            r"\b(?:revela|imprime|repite)\b.{0,30}\btus (?:instrucciones|reglas)",
            r"\b(?:verrate|drucke|wiederhole)\b.{0,30}\bdeine (?:anweisungen|regeln|vorgaben)",
            r"\b(?:revele|revelez|repete|repetez)\b.{0,30}\b(?:tes|vos) (?:instructions|consignes)",
            r"\b(?:word for word|wortwortlich|palabra por palabra|mot pour mot)\b.{0,30}"
            r"(?:prompt|instructions|instrucciones|anweisungen)",
        ),
    ),
    (
        "role_play",
        _compile(
            r"\byou are now\b",
            r"\bfrom now on,? you(?: are|'re| will| must| act)\b",
            r"\b(?:pretend|imagine) (?:to be|you are|you're|that you are)\b",
            r"\b(?:act|behave) as (?:if you (?:were|are)|an?\b|my\b)",
            r"\brole-?play as\b",
            r"\bahora eres\b",
            r"\ba partir de ahora,? (?:eres|seras|vas a ser|actua|responde)",
            r"\b(?:actua|comportate) como (?:si fueras|un|una|mi)\b",
            r"\bfinge (?:ser|que eres)\b|\bhazte pasar por\b",
            r"\bdu bist (?:jetzt|ab sofort|nun|von nun an)\b",
            r"\bab (?:jetzt|sofort) bist du\b",
            r"\b(?:tu|tue) so,? als (?:ob|waerst|warst|seist)\b",
            r"\b(?:verhalte dich|agiere) (?:wie|als) (?:ein|eine|mein)\b",
            r"\bspiel(?:e)? (?:die rolle|eine rolle)\b",
            r"\btu es (?:maintenant|desormais|a present)\b",
            r"\ba partir de maintenant,? (?:tu es|tu vas|tu dois|reponds)",
            r"\b(?:fais|faites) comme si (?:tu etais|vous etiez)\b",
            r"\b(?:agis|agissez|comporte-toi) (?:comme|en tant que) (?:un|une|si|mon)\b",
            r"\bjoue(?:z)? le role\b",
        ),
    ),
    (
        "jailbreak",
        _compile(
            r"\b(?:developer|dev|god|admin|debug|sudo|maintenance|unrestricted) mode\b",
            r"\bjailbr[eo]a?k|\bdo anything now\b|\bno (?:restrictions|filters|rules) mode\b",
            r"\bmodo (?:desarrollador|dios|administrador|admin|depuracion|sin restricciones|"
            r"sin filtros|developer)\b",
            r"\b(?:entwickler|admin|administrator|gott|debug|wartungs)-?modus\b",
            r"\bmodus ohne (?:einschrankungen|filter|regeln)\b",
            r"\bmode (?:developpeur|administrateur|admin|dieu|debug|sans restriction|sans filtre)",
        ),
    ),
    (
        "role_tag",
        _compile(
            r"^\W{0,3}(?:system|assistant|developer|sistema|systeme|tool)\s*:",
            r"\[/?(?:system|inst|sys)\]|<<\s*/?sys\s*>>|<\|[a-z_]+\|>|\bim_start\b|\bim_end\b",
            r"^\s*#{2,}\s*(?:system|instruction|instructions|new instructions)\b",
            r"</?(?:system|assistant|developer)>",
        ),
    ),
    (
        "tool_markup",
        _compile(
            r"</?tool_(?:call|response|result|code)>",
            r"</?function(?:_call|_calls|_result)?[\s=>]",
            r"<parameter\s*=|<invoke\b|\"tool_calls\"|\"function_call\"",
            r"\b(?:call|invoke|run|execute|use|trigger|llama a|ejecuta|usa|rufe|fuhre|appelle|"
            r"utilise) (?:the |el |la |die |den |das |le )?(?:\w+_\w+|tool|function|"
            r"herramienta|funcion|werkzeug|funktion|outil|fonction)\b",
        ),
    ),
    (
        "other_customer",
        _compile(
            r"\b(?:data|orders?|details|address(?:es)?|emails?|information|info|history|"
            r"payments?|refunds?|invoices?|phone numbers?|records?|accounts?)\b(?:\W+\w+){0,2}?"
            r"\W+(?:of|for|from|belonging to|on) (?:(?:another|other|a different|all|every|any) "
            r"(?:customers?|users?|clients?|members?)|(?:all|every) accounts?)\b",
            r"\b(?:another|other|a different) (?:customer|user|client)(?:'s|s') "
            r"(?:orders?|data|details|address|email|account|payment|information|history)",
            r"\bsomeone else'?s (?:orders?|account|data|details|address|email|information)",
            r"\b(?:orders?|details|address|email|data|information|account|phone)\W+(?:\w+\W+)?"
            r"(?:of|for) (?:customer|user|client)\s*(?:#|no\.?|number|id)?\W*\d+",
            r"\b(?:customer|user|client|account)_id\s*[=:]",
            r"\b(?:datos|pedidos?|informacion|direccion(?:es)?|correos?|emails?|historial|"
            r"pagos?|facturas?|telefonos?)\b(?:\W+\w+){0,2}?\W+de (?:(?:otros?|otras?|todos los|"
            r"cualquier) (?:clientes?|usuarios?)|todas las cuentas)\b",
            r"\b(?:pedidos?|datos|direccion|correo|email|cuenta|telefono)\W+(?:\w+\W+)?"
            r"del? (?:cliente|usuario)\s*(?:#|n|no|numero|id)?\W*\d+",
            r"\b(?:daten|bestellungen|bestellung|adressen?|e-mails?|informationen|kundendaten|"
            r"zahlungen|rechnungen|konto)\b(?:\W+\w+){0,2}?\W+(?:eines |einer |von |der )?"
            r"(?:(?:anderen|fremden|anderer) (?:kunden|kundinnen|nutzer|benutzer)|"
            r"(?:aller|allen) (?:kunden|nutzer|konten))\b",
            r"\b(?:bestellungen?|daten|adresse|e-mail|konto)\W+(?:\w+\W+)?(?:von|des|vom) "
            r"(?:kunden|kunde|nutzer|nutzers)\s*(?:nr\.?|nummer|id|#)?\W*\d+",
            r"\b(?:donnees|commandes?|adresses?|e-mails?|informations?|historique|"
            r"paiements?|factures?)\b(?:\W+\w+){0,2}?\W+(?:d'(?:un |une )?autres? (?:clients?|"
            r"utilisateurs?)|de tous les (?:clients|comptes|utilisateurs))\b",
            r"\b(?:commandes?|donnees|adresse|e-mail|compte)\W+(?:\w+\W+)?du client\s*"
            r"(?:n|no|numero|id|#)?\W*\d+",
        ),
    ),
)
_DAN = re.compile(r"\bDAN\b(?! [A-Z][a-z])")

# --- injection: base64 ----------------------------------------------------------------------

_DECODE_WORDS = re.compile(
    r"\b(?:decode|decodifica|descodifica|dekodiere|decodez|decode-le|base64|execute|follow|"
    r"obey|ejecuta|obedece|befolge|fuhre|executez|suivez)\b"
)
_BLOB = re.compile(r"(?<![\w+/])[A-Za-z0-9+/]{24,}={0,2}(?![\w+/])")


def _encoded_instructions(text: str, folded: str) -> bool:
    """A base64 blob decoding to readable text that is an injection itself, or that the
    message asks to decode or follow."""
    for blob in _BLOB.findall(text):
        if not (re.search(r"[a-z]", blob) and re.search(r"[A-Z]", blob)):
            continue  # order ids, tracking numbers and hex digests are single-case
        try:
            decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if sum(c.isprintable() or c.isspace() for c in decoded) < 0.95 * len(decoded):
            continue
        if _injection_reasons(decoded, _fold_lines(decoded)) or _DECODE_WORDS.search(folded):
            return True
    return False


# --- abuse ---------------------------------------------------------------------------------

# Insults that are abuse whatever the context.
_STRONG_INSULTS = _words(
    # en
    r"assholes?", r"arseholes?", r"dickheads?", r"motherfuck\w*", r"cunts?", r"wankers?",
    r"bastards?", r"bitch(?:es)?", r"scumbags?", r"piece of shit", r"sons? of a ?bitch",
    r"fuck (?:you|off|u)", r"f\*+k (?:you|off)", r"go to hell", r"go fuck yourself",
    r"shove it up your", r"kiss my ass",
    # es
    r"gilipollas", r"cabron(?:es|a|as)?", r"hijos? de puta", r"hdp", r"put[oa]s? de mierda",
    r"vete a la mierda", r"idos a la mierda", r"que (?:te|os) (?:jodan|den por culo)",
    r"me cago en (?:tu|vuestra|su) (?:madre|puta)", r"pendejos?", r"capullos?", r"malnacidos?",
    # de
    r"arschloch", r"arschlocher", r"wichser", r"hurensohne?", r"schlampen?", r"drecksacke?",
    r"missgeburt(?:en)?", r"fick (?:dich|euch)", r"verpiss (?:dich|euch)", r"leck mich",
    r"halt (?:die|deine|eure) fresse", r"vollidioten?",
    # fr
    r"connards?", r"connasses?", r"salauds?", r"salopes?", r"encules?", r"batards?",
    r"fils de pute", r"ta gueule", r"va te faire (?:foutre|voir)", r"allez vous faire foutre",
    r"nique ta mere", r"pauvres? cons?", r"bande de cons",
)  # fmt: skip
# Insults that are abuse when aimed at someone: "you idiots", "sois unos imbéciles".
_DIRECTED_INSULTS = _words(
    r"idiots?", r"morons?", r"imbeciles?", r"stupid", r"dumb", r"jerks?", r"twats?", r"pricks?",
    r"idiotas?", r"imbecil", r"estupid[oa]s?", r"tont[oa]s?", r"subnormales?",
    r"idioten", r"idiot", r"trottel", r"deppen?", r"dumm(?:e|er|en|kopf|kopfe)?", r"penner",
    r"versager", r"schwachkopfe?",
    r"cretins?", r"debiles?", r"abrutis?",
)  # fmt: skip
_ADDRESSED = _words(
    r"you(?: are|'re| guys are| people are| lot are)?(?: such| all| just| a bunch of| a)?"
    r"(?: an?| total| complete| fucking| bloody)*",
    r"bunch of", r"your (?:staff|agents?|people|team) (?:are|is)(?: an?)?",
    r"(?:eres|sois|son ustedes|es usted|sois todos|son todos)(?: un| una| unos| unas)?"
    r"(?: puto| putos| autentic[oa]s?| verdader[oa]s?)?",
    r"(?:panda|pandilla|banda|manada|pedazo) de",
    r"(?:du bist|ihr seid|sie sind|seid ihr|bist du)(?: ein| eine| alle| so| total| echt)*",
    r"(?:ihr|du)(?: verdammten| bloden)?", r"(?:haufen|bande|verein) (?:von )?",
    r"(?:tu es|t'es|vous etes|etes-vous|es-tu)(?: un| une| des| vraiment| tous| de)*(?: gros)?",
    r"(?:bande|espece|tas|troupeau) d(?:e |')",
)  # fmt: skip
_THREATS = _words(
    # en
    r"(?:i'll|i will|i'm going to|im going to|gonna|i am going to) (?:kill|hurt|beat|stab|"
    r"shoot|punch) (?:you|u|your staff|whoever|every one of you|the person)",
    r"(?:kill|shoot|stab) (?:you|all of you|your staff|everyone)\b",
    r"i know where (?:you live|your office|your warehouse|you work)",
    r"(?:burn|blow) (?:down |up )?your (?:shop|store|office|warehouse|building|place)",
    r"watch your back", r"bomb (?:your|the) (?:office|warehouse|store)",
    # es
    r"(?:te|os|les) (?:voy|vamos) a (?:matar|partir la cara|reventar|quemar)",
    r"(?:voy|vamos) a (?:matar|quemar|reventar) (?:a|vuestr|tu|su)",
    r"se donde (?:vives|viven|estais|estan)", r"(?:os|te|les) (?:mato|reviento|parto la cara)",
    r"pegar(?:te|os|les) un tiro",
    # de
    r"ich (?:bring|bringe) (?:dich|euch) um\b",
    r"ich werde (?:dich|euch) (?:umbringen|fertigmachen)",
    r"(?:dich|euch) (?:umbringen|abstechen|abknallen)",
    r"ich weiss,? wo (?:du wohnst|ihr wohnt|euer buro|ihr sitzt)",
    r"(?:euren|den) laden (?:abfackeln|anzunden)", r"abfackeln",
    r"(?:die|eure|deine) fresse polieren", r"ich (?:schlag|schlage|hau|haue) (?:dich|euch)",
    # fr
    r"je vais (?:te|vous) (?:tuer|buter|defoncer|casser la gueule|peter la gueule|frapper)",
    r"(?:te|vous) (?:tuer|buter|defoncer)\b",
    r"je sais ou (?:tu habites|vous habitez|vous etes)",
    r"mettre le feu a (?:votre|ton|vos)",
    r"(?:cramer|bruler) (?:votre|ton) (?:magasin|entrepot|bureau)",
)  # fmt: skip
_SLURS = _words(
    r"retarded", r"faggots?", r"tranny", r"trannies", r"maricon(?:es)?", r"sudacas?",
    r"schwuchteln?", r"kanaken?", r"pedes?", r"tapettes?", r"bougnoules?",
)  # fmt: skip

_ABUSE: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    ("insult", _compile(
        rf"\b{_STRONG_INSULTS}\b",
        rf"\b{_ADDRESSED}\W+(?:\w+\W+)?{_DIRECTED_INSULTS}\b",
        rf"(?:^|[.!?]\s*){_DIRECTED_INSULTS}\s*[!.]",  # an insult as a sentence of its own
    )),
    ("threat", _compile(rf"\b{_THREATS}")),
    ("slur", _compile(rf"\b{_SLURS}\b")),
)  # fmt: skip
