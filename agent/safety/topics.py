"""Sensitive topics and negative sentiment in a customer message (en, es, de, fr).

``sensitive_topic`` names the first of "medical_safety", "legal" and "security" whose
signals the message holds (someone hurt outranks a lawyer, who outranks a hacked
account); ``is_negative`` says whether it shows frustration, complains or abuses
(insults and threats count as negative too). Both match the folded text (accents
stripped, casefolded).
"""

import re

from agent.safety._text import fold
from agent.safety.injection import abuse_reasons

TOPICS = ("medical_safety", "legal", "security")


def sensitive_topic(text: str) -> str | None:
    """The message's sensitive topic: "medical_safety", "legal", "security", or None."""
    folded = fold(text)
    for topic, pattern in _TOPIC_PATTERNS:
        if pattern.search(folded):
            return topic
    return None


def is_negative(text: str) -> bool:
    """Frustration or complaint: lexical signals, "!!", a shouted message, or abuse."""
    return bool(
        _NEGATIVE.search(fold(text))
        or _EXCLAIMS.search(text)
        or _shouting(text)
        or abuse_reasons(text)
    )


def _shouting(text: str) -> bool:
    """Three capitalised words of three letters or more (acronyms aside), or two when most
    of the message's letters are capitals."""
    letters = [c for c in text if c.isalpha()]
    shouted = re.findall(r"\b[^\W\d_a-z]{3,}\b", text)
    shouted = [word for word in shouted if word.isupper() and word not in _ACRONYMS]
    return len(shouted) >= 3 or (
        len(shouted) >= 2 and sum(c.isupper() for c in letters) > 0.6 * len(letters)
    )


_ACRONYMS = frozenset({
    "DHL", "UPS", "USPS", "GLS", "DPD", "TNT", "SEUR", "MRW", "USA", "EU", "UK", "VAT", "IVA",
    "TVA", "MWST", "PDF", "FAQ", "ASAP", "CET", "MEZ", "ETA", "SMS", "NIF", "CIF", "DNI", "NIE",
    "IBAN", "BIC", "SWIFT", "SKU", "LED", "USB", "RGB", "PIN", "OTP", "GDPR", "RGPD", "DSGVO",
    "EUR", "USD", "GBP", "API", "URL", "SEPA", "PAYPAL", "KLARNA", "IDEAL", "BBB", "FTC",
    "OCU", "DGCCRF", "UFC", "AMEX", "VISA",
})  # fmt: skip


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_MEDICAL = _any(
    # en
    r"\binjur(?:y|ies|ed|ing)\b",
    r"\bhurt (?:me|my|him|her|them|us|myself|himself|herself|"
    r"someone|somebody|my (?:son|daughter|child|kid|wife|husband))\b",
    r"\bwounded\b",
    r"\b(?:got|get|was|were|been|badly|severely) burn(?:ed|t)\b",
    r"\bburn(?:ed|t)? (?:my|his|her|their|our) (?:hand|hands|finger|fingers|arm|skin|face|"
    r"leg|mouth|tongue|palm)",
    r"\bburns? (?:on|to) (?:my|his|her|the) ",
    r"\bsecond-degree\b",
    r"\b(?:caught|catch|catches|catching) fire\b",
    r"\bon fire\b",
    r"\bfire hazard\b",
    r"\bburst into flames\b",
    r"\bflames\b",
    r"\bstarted a fire\b",
    r"\bsmok(?:e|ed|ing)\b(?! detector| alarm)",
    r"\bburning smell\b",
    r"\bsmell(?:s|ed)? of burning\b",
    r"\belectric(?:al)? shock\b",
    r"\belectrocut\w*",
    r"\b(?:gave|got) (?:me |him |her )?a shock\b",
    r"\bshocked (?:me|him|her|my)\b",
    r"\bspark(?:s|ed|ing|led)?\b",
    r"\ballergic\b",
    r"\ballergy\b",
    r"\brash\b",
    r"\bpoison(?:ed|ing|ous)?\b",
    r"\btoxic\b",
    r"\bhospital\b",
    r"\bemergency room\b",
    r"\ba&e\b",
    r"\bsee a doctor\b|\bthe doctor\b",
    r"\bbleeding\b",
    r"\bcut (?:my|his|her) (?:finger|hand|thumb)\b",
    r"\bexplo(?:ded|des|ding|sion)\b",
    r"\bshatter(?:ed)?\b.{0,40}\b(?:face|eye|hand|child)",
    r"\boverheat(?:ed|ing|s)?\b",
    r"\bmelt(?:s|ed|ing)\b",
    r"\bchoking\b|\bswallowed\b",
    r"\bunsafe\b|\bdangerous\b",
    # es
    r"\bherid[oa]s?\b",
    r"\blesion(?:es)?\b",
    r"\bme (?:he )?(?:hecho|hice) dano\b",
    r"\bquemadura",
    r"\bme (?:he )?quem(?:e|ado)\b",
    r"\bse (?:ha )?quem(?:o|ado) (?:la|el|mi|su) "
    r"(?:mano|dedo|brazo|cara|piel)",
    r"\bincendi(?:o|ar|ado)\b",
    r"\bse (?:ha )?incendiado\b",
    r"\b(?:salio|salian|se prendio|prendio|cogio|agarro|empezo a echar|echaba|echo) (?:fuego|"
    r"humo|chispas)\b",
    r"\bhumo\b",
    r"\ben llamas\b|\bllamaradas?\b",
    r"\bdescarga electrica\b|\bme dio (?:una )?descarga\b",
    r"\bcalambrazo\b|\bme dio (?:un )?calambre\b",
    r"\belectrocut\w*",
    r"\bchispas\b",
    r"\breaccion alergica\b",
    r"\balergi(?:a|co|ca)\b",
    r"\bintoxica\w*",
    r"\benvenena\w*",
    r"\bhospital\b",
    r"\burgencias\b",
    r"\bal medico\b|\bel medico\b",
    r"\bsangr\w*",
    r"\bexplot(?:o|ado)\b",
    r"\bsobrecalent\w*",
    r"\bse (?:ha )?(?:derretido|derritio|fundido|fundio)\b",
    r"\bpeligros[oa]\b",
    # de
    r"\bverletz(?:t|te|ung|ungen)\b",
    r"\bverbrannt\b",
    r"\bverbrennung(?:en)?\b",
    r"\bbrandgefahr\b|\bin brand\b|\bbrandschaden\b|\bbrandfleck\w*|\bgebrannt\b",
    r"\bfeuer gefangen\b|\bin flammen\b|\bflammen\b",
    r"\brauch\b|\bqualm(?:t|te)?\b|\braucht(?:e)?\b",
    r"\bverbrannt(?:er|en)? geruch\b",
    r"\bstromschlag\b|\belektrischen schlag\b|\bschlag bekommen\b",
    r"\bfunken\b",
    r"\ballergisch\w*\b|\ballergie\b|\bausschlag\b",
    r"\bvergift\w*",
    r"\bkrankenhaus\b|\bnotaufnahme\b|\bnotarzt\b|\bzum arzt\b|\bbeim arzt\b",
    r"\bexplodiert\b",
    r"\buberhitz\w*",
    r"\bgeschmolzen\b",
    r"\bgefahrlich\b",
    r"\bblut\w*",
    # fr
    r"\bbless(?:e|ee|es|ees|ure|ures)\b",
    r"\bbrulure",
    r"\b(?:je )?me suis brule",
    r"\bs'est brule",
    r"\bbrule (?:la|le|les|ma|mon|sa|son) (?:main|doigt|bras|peau|visage)",
    r"\bincendie\b",
    r"\bpris feu\b",
    r"\ben feu\b",
    r"\bflammes\b",
    r"\bfumee\b|\bfume\b",
    r"\bchoc electrique\b|\bdecharge electrique\b|\belectrocut\w*|\bj'ai pris le jus\b",
    r"\betincelles?\b",
    r"\breaction allergique\b|\ballergi\w*",
    r"\bintoxication\b",
    r"\bempoisonn\w*",
    r"\bhopital\b|\burgences\b|\bmedecin\b",
    r"\bsaign\w*",
    r"\bexplos(?:e|ee|ion)\b|\ba explose\b",
    r"\bsurchauff\w*",
    r"\bfondu\b",
    r"\bdangereu\w*",
)
_LEGAL = _any(
    # en
    r"\blawyers?\b",
    r"\battorneys?\b",
    r"\bsolicitors?\b",
    r"\blaw ?suits?\b",
    r"\blegal action\b",
    r"\blegal (?:proceedings|steps|advice|team)\b",
    r"\blitigation\b",
    r"\b(?:i|we)(?:'ll| will| am going to|'m going to| are going to|'re going to| shall)? sue\b",
    r"\b(?:going to|gonna|will|to|and|or|then|i'll|we'll) sue\b",
    r"\bsu(?:e|ing|ed) "
    r"(?:you|your|them|the company|brightleaf)\b",
    r"\b(?:take|taking|see) (?:you|this|them) to court\b",
    r"\b(?:in|into|to) court\b",
    r"\bsmall claims\b",
    r"\bcourt (?:case|action|order|claim|proceedings)\b",
    r"\bconsumer (?:protection|rights|authority|agency|ombudsman|association|council)\b",
    r"\btrading standards\b",
    r"\bombudsman\b",
    r"\bbetter business bureau\b",
    r"\bbbb\b",
    r"\bftc\b",
    r"\bregulator\b",
    r"\bdata protection (?:authority|officer|regulator)\b",
    r"\b(?:gdpr|data protection) complaint\b",
    r"\bico\b",
    r"\bcease and desist\b",
    # es
    r"\babogad[oa]s?\b",
    r"\bdemandar(?:os|les|te|le|la|lo)?\b",
    r"\b(?:os|les|te|le) (?:voy|vamos) a "
    r"demandar\b",
    r"\bponer (?:una )?demanda\b|\buna demanda (?:judicial|contra)\b",
    r"\bdenuncia(?:r|re|remos)?\b|\bdenunciar(?:os|les)\b",
    r"\btribunal(?:es)?\b",
    r"\bjuzgados?\b",
    r"\bjuicio\b",
    r"\bacciones? legal(?:es)?\b",
    r"\bvia judicial\b|\bmedidas legales\b",
    r"\b(?:oficina|defensa|asociacion|organizacion) (?:municipal )?"
    r"de(?:l| los)? consumidor(?:es)?\b",
    r"\b(?:oficina|organismos?|autoridad(?:es)?|departamento) de consumo\b",
    r"\bocu\b|\bfacua\b",
    r"\bhoja de reclamaciones\b",
    r"\bagencia (?:espanola )?de proteccion de datos\b|\baepd\b",
    # de
    r"\b(?:rechts)?anwalt\w*\b|\banwaltin\b|\bkanzlei\b",
    r"\bverklag(?:e|en|t)\b",
    r"\bklage\b|\beinklagen\b|\bklage einreichen\b",
    r"\brechtliche (?:schritte|konsequenzen)\b",
    r"\b(?:vor|zum|ans|vors) gericht\b|\bgerichtlich\w*|\bgerichtsverfahren\b",
    r"\b(?:amts|land)gericht\b",
    r"\bverbraucherzentrale\b|\bverbraucherschutz\w*\b",
    r"\babmahnung\b|\bmahnbescheid\b",
    r"\bdatenschutzbehorde\b|\baufsichtsbehorde\b",
    r"\bjuristische\w*\b",
    # fr
    r"\b(?:mon|notre|un|mes|l'|votre|son) ?avocat\b|\bavocats\b",
    r"\bpoursuivre en justice\b",
    r"\bpoursuites(?: judiciaires)?\b",
    r"\bport(?:er|e|erai|erons|ez|ons) plainte\b|\bdepos(?:er|e|erai) (?:une )?plainte\b",
    r"\btribunal\b|\btribunaux\b",
    r"\ben justice\b|\baction en justice\b",
    r"\bmise en demeure\b",
    r"\bdgccrf\b|\bque choisir\b|\bassociation de consommateurs\b|\b60 millions de consommateurs\b",
    r"\bproces\b",
    r"\bhuissier\b",
    r"\bcnil\b",
    r"\bmediateur\b",
)
_SECURITY = _any(
    # en
    r"\bhack(?:ed|er|ers|ing)\b",
    r"\bcompromised\b",
    r"\bunauthori[sz]ed\b",
    r"\bdata (?:breach|leak)\b|\bbreach\b|\bleak(?:ed)? (?:my|our|customer) ",
    r"\bphishing\b|\bsmishing\b",
    r"\b(?:scam|fake|suspicious|fraudulent) (?:email|e-mail|text|"
    r"sms|call|link|message|website|site)\b",
    r"\bsuspicious (?:login|activity|sign-in|charge)\b",
    r"\bstolen (?:card|credit card|identity|account|password)\b",
    r"\b(?:card|wallet|identity|"
    r"password) (?:was|has been|got) stolen\b",
    r"\bfraud(?:ulent|ster|sters)?\b",
    r"\bidentity theft\b",
    r"\baccount takeover\b",
    r"\b(?:someone|somebody|a stranger) (?:has )?(?:logged|log|got|broke|broken|accessed|used|"
    r"changed|is using)\b.{0,30}\b(?:account|password|email|card|login)\b",
    r"\bi (?:did not|didn't|never) (?:make|made|place|placed|authori[sz]ed?|order|ordered)\b.{0,20}"
    r"\b(?:order|purchase|payment|charge|transaction)s?\b",
    r"\b(?:charges?|orders?|purchases?|payments?) (?:that )?i (?:did not|didn't|never) "
    r"(?:make|made|placed?|authori[sz]ed?|recogni[sz]e)\b",
    r"\bdon't recogni[sz]e (?:this|these|the|a) "
    r"(?:charge|order|payment|transaction|login)",
    r"\b2fa\b.{0,30}\b(?:didn't|not) (?:request|me)\b",
    # es
    r"\b(?:hackead|jaquead|piratead)[oa]s?\b",
    r"\bhacker\w*",
    r"\bacceso no autorizado\b",
    r"\bno autorizad[oa]s?\b",
    r"\b(?:filtracion|fuga|robo|brecha) de datos\b",
    r"\bphishing\b",
    r"\b(?:correo|email|sms|mensaje|llamada|web|enlace) (?:sospechos|fraudulent|falso)\w*",
    r"\btarjeta robada\b|\bme (?:han )?robad[oa] (?:la|mi) tarjeta\b|\brobo de (?:la|mi) tarjeta\b",
    r"\bfraude\b|\bfraudulent[oa]s?\b",
    r"\bsuplantacion de identidad\b",
    r"\b(?:alguien|un desconocido) (?:ha )?(?:entrado|accedido|entro|accedio|cambiado|cambio|"
    r"usado|uso)\b.{0,30}\b(?:cuenta|contrasena|correo|tarjeta)\b",
    r"\b(?:cargos?|pedidos?|compras?|pagos?) que (?:yo )?no (?:he )?(?:hecho|hice|realizado|"
    r"realice|reconozco|autorice)\b",
    r"\bno reconozco (?:este|estos|el|los|un|una) (?:cargo|"
    r"pedido|pago|compra)",
    # de
    r"\bgehackt\b|\bhacker\w*",
    r"\bunbefugt\w*\b",
    r"\bnicht autorisiert\w*\b",
    r"\bdatenleck\b|\bdatenpanne\b|\bdatendiebstahl\b",
    r"\bphishing\w*",
    r"\b(?:gestohlen\w*|geklaut\w*) (?:karte|kreditkarte|identitat|zugangsdaten)\b",
    r"\b(?:karte|kreditkarte|identitat|passwort)\b.{0,20}\b(?:gestohlen|geklaut)\b",
    r"\bbetrug\b|\bbetruger\w*|\bbetrugerisch\w*",
    r"\bidentitatsdiebstahl\b",
    r"\bverdachtig\w* (?:e-mail|mail|sms|anmeldung|nachricht|link|anruf|aktivitat|abbuchung)",
    r"\b(?:jemand|ein fremder|unbekannte?) (?:hat )?(?:sich )?.{0,30}\b(?:eingeloggt|angemeldet|"
    r"zugegriffen|geandert|benutzt)\b",
    r"\b(?:abbuchung|bestellung|zahlung|belastung)\w*,? (?:die|das) ich (?:nicht|nie) "
    r"(?:getatigt|gemacht|autorisiert|aufgegeben|bestellt)\b",
    # fr
    r"\b(?:ete|est|a|ont|sont|fait) (?:piratee?s?|hackee?s?)\b|\bcompte piratee?\b|\bpiratage\b",
    r"\bhackers?\b",
    r"\bacces non autorise\b",
    r"\bnon autorise\w*\b",
    r"\bfuite de donnees\b|\bvol de donnees\b|\bviolation de donnees\b",
    r"\bhameconnage\b|\bphishing\b",
    r"\b(?:e-mail|mail|sms|message|appel|lien|site) (?:suspect|frauduleux|frauduleuse|douteux)\w*",
    r"\bcarte (?:bancaire )?volee\b|\bon m'a vole (?:ma|mon) (?:carte|identite)\b",
    r"\bfraude\b|\bfrauduleu\w*",
    r"\busurpation d'identite\b",
    r"\bquelqu'un (?:s'est|a) (?:connecte|acced\w*|utilise|change|modifie)\b.{0,30}",
    r"\b(?:achat|commande|paiement|prelevement)s? (?:que )?(?:je )?n'ai (?:pas|jamais) "
    r"(?:fait|effectue|passee?|autorise)\b",
)
_TOPIC_PATTERNS = (("medical_safety", _MEDICAL), ("legal", _LEGAL), ("security", _SECURITY))

_NEGATIVE = _any(
    # en
    r"\bstill (?:not|no|nothing|haven't|hasn't|hasnt|havent|waiting|don't|doesn't|isn't|"
    r"broken|missing|no sign)\b",
    r"\b(?:yet|once) again\b|\bagain and again\b|\bagain\s*[!?]",
    r"\b(?:happened|happening|late|wrong|missing|broken|delayed|charged|nothing|same) again\b",
    r"\bridiculous\b|\bunacceptable\b|\boutrageous\b|\bdisgrace\w*|\bshameful\b|\bappalling\b",
    r"\bworst\b|\bterrible\b|\bawful\b|\bhorrible\b|\bhorrendous\b|\bpathetic\b|\bshocking\b",
    r"\bdisappoint\w*|\bfrustrat\w*|\bannoy\w*|\bangry\b|\bfurious\b|\bupset\b|\bfed up\b",
    r"\bsick (?:and tired )?of\b|\btired of\b|\bhad enough\b|\bjoke\b|\bnightmare\b|\bshambles\b",
    r"\buseless\b|\bincompetent\b|\bhopeless\b|\brubbish\b|\bgarbage\b|\bcrap\w*|\bshit\w*",
    r"\bfuck\w*|\bdamn\w*|\bbloody\b|\bwtf\b|\bscam\b|\bthieves\b|\brip-?off\b",
    r"\bnever again\b|\bwaste of\b|\bhow many times\b",
    r"\b(?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) time\b",
    r"\b(?:no ?one|nobody) (?:has )?(?:answered|replied|responded|helped|got back|cares)\b",
    r"\bno (?:reply|response|answer)\b",
    r"\bnot happy\b|\bunhappy\b|\bpoor (?:service|quality)\b",
    r"\bcomplain\w*",
    r"\bfor (?:weeks|ages|days)\b",
    r"\bignor(?:ed|ing) (?:me|my)\b",
    r"\bstill have(?:n't| not)\b",
    r"\bnot good enough\b",
    r"\bfalse promises?\b|\blied\b",
    # es
    r"\b(?:todavia|aun|aun) no\b|\bsigue sin\b|\bsigo sin\b|\bsigo esperando\b|\bsiguen sin\b",
    r"\botra vez\s*[!?]|\botra vez (?:lo mismo|igual|nada|no|tarde|mal)\b",
    r"\bde nuevo (?:nada|no|mal)\b",
    r"\bya es la (?:segunda|tercera|cuarta|quinta) vez\b|\bpor (?:segunda|tercera|cuarta) vez\b",
    r"\bridicul[oa]\b|\binaceptable\b|\bvergu?enza\b|\bvergonzoso\b|\bindignante\b",
    r"\b(?:el|la|lo) peor\b|\bpesim[oa]\b|\bhorrible\b|\bfatal\b|\bterrible\b|\bdesastr\w*",
    r"\bhart[oa]s?\b|\bestoy cansad[oa]\b|\bindignad[oa]\b|\benfadad[oa]\b|\benojad[oa]\b|"
    r"\bmolest[oa]\b|\bdecepcion\w*|\bdecepcionad[oa]\b|\bcabread[oa]\b|\bfurios[oa]\b",
    r"\btomadura de pelo\b|\bes una broma\b|\bde risa\b|\bnunca mas\b|\binutil(?:es)?\b",
    r"\bnadie (?:me )?(?:responde|contesta|ayuda|da solucion)\b",
    r"\bsin respuesta\b|\bninguna respuesta\b",
    r"\bqueja\b|\bquejarme\b|\blamentable\b|\bpenoso\b|\bcuantas veces\b|\bestafa\w*|\bladrones\b",
    r"\bmierda\b|\bjoder\b|\bhostia\b",
    # de
    r"\b(?:immer noch|noch immer) (?:nicht|kein|keine|nichts)\b|\bschon wieder\b|\bwieder nicht\b",
    r"\bwieder (?:kaputt|falsch|zu spat|nichts)\b|\bzum (?:zweiten|dritten|vierten|x-ten) mal\b",
    r"\blacherlich\b|\binakzeptabel\b|\bunverschamt\w*|\bfrechheit\b|\bunmoglich\w*|\bskandal\w*",
    r"\bschlechteste\w*|\bkatastroph\w*|\bmiserabel\b|\bunterirdisch\b|\bpeinlich\b",
    r"\benttausch\w*|\bverargert\b|\bwutend\b|\bsauer\b|\bgenervt\b|\bnervig\b|\bfrustrier\w*",
    r"\bes reicht\b|\bnase voll\b|\breicht mir\b|\bzumutung\b|\bwie oft noch\b|\bnie wieder\b",
    r"\b(?:niemand|keiner) (?:antwortet|meldet sich|hilft|reagiert)\b",
    r"\bkeine (?:antwort|reaktion)\b",
    r"\bbeschwer(?:de|den|en|t|te)\b|\bnutzlos\b|\bseit wochen\b|\bseit tagen\b|\babzocke\w*",
    r"\bscheiss\w*|\bso ein mist\b|\bverdammt\w*",
    # fr
    r"\btoujours pas\b|\btoujours rien\b|\bencore une fois\b|\bencore (?:rien|pas|en retard)\b",
    r"\bde nouveau (?:en retard|rien|pas|casse|bloque)\b",
    r"\bpour la (?:deuxieme|troisieme|quatrieme|enieme) fois\b",
    r"\bridicule\b|\binacceptable\b|\binadmissible\b|\bscandal\w*|\bhonte\w*|\bindigne\b",
    r"\b(?:le|la) pire\b|\bnul(?:le|s|les)?\b(?! part)|\blamentable\b|\bpitoyable\b",
    r"\bcatastroph\w*|\bdesastr\w*",
    r"\bdecu(?:e|s|es)?\b|\bdeception\b|\benerve\w*|\bfurieu\w*|\bagace\w*|\bexaspere\w*|\bmecontent\w*",
    r"\ben ai marre\b|\bras-le-bol\b|\bras le bol\b|\bc'est une blague\b|\bplus jamais\b",
    r"\bpersonne ne (?:me )?(?:repond|rappelle|aide)\b|\baucune (?:reponse|nouvelle)\b",
    r"\breclamation\b|\bplainte\b|\bcombien de fois\b|\binutile\b",
    r"\bdepuis des (?:semaines|jours)\b",
    r"\bmerde\w*|\bputain\b|\bvoleurs\b|\barnaque\w*",
)
_EXCLAIMS = re.compile(r"[!?]*![!?]*!|!\?|\?!")
