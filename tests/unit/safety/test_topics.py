"""Sensitive topics and negative sentiment, in English, Spanish, German and French."""

import pytest

from agent.safety.topics import is_negative, sensitive_topic


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("My lawyer will contact you.", "legal"),
        ("I will sue you if I don't get a refund.", "legal"),
        ("See you in small claims court.", "legal"),
        ("I've reported you to consumer protection.", "legal"),
        ("Hablaré con mi abogado.", "legal"),
        ("Os voy a demandar.", "legal"),
        ("Ich werde Sie verklagen.", "legal"),
        ("Ich gehe zur Verbraucherzentrale.", "legal"),
        ("Je vais porter plainte.", "legal"),
        ("Mon avocat vous écrira.", "legal"),
        ("My account was hacked.", "security"),
        ("There was unauthorised access to my account.", "security"),
        ("I got a phishing email pretending to be you.", "security"),
        ("My card was stolen and used on your site.", "security"),
        ("Alguien ha entrado en mi cuenta y cambió la contraseña.", "security"),
        ("Mi cuenta ha sido hackeada.", "security"),
        ("Mein Konto wurde gehackt.", "security"),
        ("Eine Abbuchung, die ich nicht getätigt habe.", "security"),
        ("Mon compte a été piraté.", "security"),
        ("J'ai reçu un e-mail suspect.", "security"),
        ("The kettle caught fire.", "medical_safety"),
        ("I burned my hand on the pan handle.", "medical_safety"),
        ("The lamp gave me an electric shock.", "medical_safety"),
        ("My son had an allergic reaction to the soap.", "medical_safety"),
        ("El hervidor echaba humo.", "medical_safety"),
        ("Me he quemado con la sartén.", "medical_safety"),
        ("Ich habe einen Stromschlag bekommen.", "medical_safety"),
        ("Die Lampe ist in Flammen aufgegangen.", "medical_safety"),
        ("La bouilloire a pris feu.", "medical_safety"),
        ("Je me suis brûlé avec la poêle.", "medical_safety"),
    ],
)
def test_topics(text: str, topic: str) -> None:
    assert sensitive_topic(text) == topic


def test_someone_hurt_outranks_a_lawyer() -> None:
    assert sensitive_topic("The lamp caught fire and my lawyer says I should sue.") == (
        "medical_safety"
    )


@pytest.mark.parametrize(
    "text",
    [
        "My friend Sue recommended your linen.",
        "I bought it for my mum, Sue.",
        "We met at the food court.",
        "Is the court shoe available in size 6?",
        "The bulb burned out after a month, is that covered?",
        "Con tanta demanda, ¿cuándo vuelve la tetera?",
        "Welche Pfanne eignet sich für Gerichte mit Soße?",
        "What brand is the kettle?",
        "¿Me llamas mañana?",
        "No encuentro la descarga de la factura.",
        "The pirate costume arrived, thanks!",
        "Where is my order?",
    ],
)
def test_no_topic(text: str) -> None:
    assert sensitive_topic(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Still no parcel. This is unacceptable.",
        "Worst service ever.",
        "I'm really disappointed with the towels.",
        "WHERE IS MY ORDER? I PAID LAST WEEK",
        "Hello?? Anyone there!!",
        "You idiots lost it.",
        "Sigo sin recibir el pedido, es una vergüenza.",
        "Estoy harta de esperar.",
        "Immer noch nicht da, das ist lächerlich.",
        "Schon wieder falsch geliefert.",
        "Toujours pas reçu, c'est inadmissible.",
        "J'en ai marre.",
    ],
)
def test_negative(text: str) -> None:
    assert is_negative(text)


@pytest.mark.parametrize(
    "text",
    [
        "Could you send me the invoice again, please?",
        "Thanks, the lamp is lovely.",
        "Where is my order BL-10234?",
        "I ordered via DHL to the UK, VAT included.",
        "¿Cuánto tarda un envío a Canarias?",
        "Vielen Dank für die schnelle Hilfe.",
        "Pouvez-vous m'envoyer de nouveau le lien ?",
        "Je ne le trouve nulle part.",
    ],
)
def test_not_negative(text: str) -> None:
    assert not is_negative(text)
