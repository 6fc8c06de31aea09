"""Texts the bot sends without a model, in the customer's language.

A bot file gives such a text as one string (every language) or as a map from language
code to text; the customer's detected language picks one, English (or the first given)
otherwise. The defaults come in English, Spanish, German and French.
"""

from typing import Annotated

from pydantic import AfterValidator

LocalizedText = str | dict[str, str]


def _check(value: LocalizedText) -> LocalizedText:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("must not be empty")
        return value
    if not value:
        raise ValueError("give a text, or a map of language code to text")
    for language, text in value.items():
        if not language.strip() or not text.strip():
            raise ValueError(f"the {language!r} text must not be empty")
    return value


Localized = Annotated[LocalizedText, AfterValidator(_check)]


def localized(text: LocalizedText, language: str | None) -> str:
    """The text in ``language`` (or its base, "pt" for "pt-BR"), else English, else the first."""
    if isinstance(text, str):
        return text
    for candidate in (language, (language or "").split("-")[0].lower(), "en"):
        if candidate and candidate in text:
            return text[candidate]
    return next(iter(text.values()))


HOLDING = {
    "en": "I'm passing this conversation to a member of our team. "
    "They will reply here as soon as they can.",
    "es": "Paso esta conversación a una persona de nuestro equipo. "
    "Te responderá aquí lo antes posible.",
    "de": "Ich gebe dieses Gespräch an eine Kollegin oder einen Kollegen weiter. "
    "Sie antworten Ihnen hier so bald wie möglich.",
    "fr": "Je transmets cette conversation à un membre de notre équipe. "
    "Il vous répondra ici dès que possible.",
}
APPROVAL = {
    "en": "A member of our team needs to confirm this before I can go ahead. "
    "You'll hear back here as soon as they have.",
    "es": "Una persona de nuestro equipo tiene que confirmarlo antes de que pueda seguir. "
    "Te responderemos aquí en cuanto lo haya hecho.",
    "de": "Eine Kollegin oder ein Kollege muss das bestätigen, bevor ich weitermachen kann. "
    "Sie hören hier von uns, sobald das geschehen ist.",
    "fr": "Un membre de notre équipe doit le confirmer avant que je puisse continuer. "
    "Vous aurez une réponse ici dès que ce sera fait.",
}
DECLINED = {
    "en": "A member of our team reviewed your request and couldn't approve it this time. "
    "Is there anything else I can help with?",
    "es": "Una persona de nuestro equipo revisó tu solicitud y esta vez no pudo aprobarla. "
    "¿Puedo ayudarte con algo más?",
    "de": "Eine Kollegin oder ein Kollege hat Ihre Anfrage geprüft und konnte sie diesmal "
    "nicht genehmigen. Kann ich Ihnen sonst noch helfen?",
    "fr": "Un membre de notre équipe a examiné votre demande et n'a pas pu l'approuver cette "
    "fois. Puis-je vous aider pour autre chose ?",
}
BUSY = {
    "en": "Thanks for your patience. We're handling more conversations than usual right now; "
    "we'll answer you here shortly.",
    "es": "Gracias por tu paciencia. Ahora mismo atendemos más conversaciones de lo habitual; "
    "te responderemos aquí en breve.",
    "de": "Danke für Ihre Geduld. Gerade führen wir mehr Gespräche als sonst; "
    "wir antworten Ihnen hier in Kürze.",
    "fr": "Merci de votre patience. Nous traitons plus de conversations que d'habitude ; "
    "nous vous répondrons ici très bientôt.",
}
NEUTRAL = {
    "en": "I can help with questions about your orders, your account and our products. "
    "What can I do for you?",
    "es": "Puedo ayudarte con tus pedidos, tu cuenta y nuestros productos. ¿Qué necesitas?",
    "de": "Ich helfe Ihnen gern bei Fragen zu Ihren Bestellungen, Ihrem Konto und unseren "
    "Produkten. Was kann ich für Sie tun?",
    "fr": "Je peux vous aider pour vos commandes, votre compte et nos produits. "
    "Que puis-je faire pour vous ?",
}
