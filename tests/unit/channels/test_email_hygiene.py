"""E-mail hygiene on a labelled set of realistic e-mails: what the graph sees of each (the
customer's own words), and which ones are never answered (auto-replies, bounces, bots)."""

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.channels.email_hygiene import (
    auto_submitted_header,
    automatic_sender,
    clean_email_text,
    looks_automatic,
)


@dataclass(frozen=True)
class Mail:
    name: str
    body: str
    own_words: str  # what clean_email_text must return
    automatic: bool = False
    subject: str = ""


QUESTION = "Hi,\n\nMy parcel never arrived. Can I get a refund?"

CUSTOMER_MAILS = [
    Mail(
        "gmail reply, english",
        "Thanks, but the code does not work. What now?\n\n"
        "On Mon, Jun 3, 2024 at 10:15 AM Acme Support <support@acme.example> wrote:\n"
        "> Hello Jane,\n>\n> here is your discount code: SAVE10\n>\n> Acme Support\n",
        "Thanks, but the code does not work. What now?",
    ),
    Mail(
        "gmail reply with the attribution wrapped over two lines",
        "Still waiting for the refund.\n\n"
        "On Mon, Jun 3, 2024 at 10:15 AM Acme Customer Support Team <\n"
        "support@acme.example> wrote:\n\n> Your refund is on its way.\n",
        "Still waiting for the refund.",
    ),
    Mail(
        "apple mail, german",
        "Hallo,\nich habe die Rechnung nicht bekommen. Können Sie sie nochmal schicken?\n\n"
        "Viele Grüße\nJonas\n\n"
        "Am 03.06.2024 um 10:15 schrieb Acme Support <support@acme.example>:\n\n"
        "> Hallo Jonas,\n> Ihre Bestellung ist unterwegs.\n",
        "Hallo,\nich habe die Rechnung nicht bekommen. Können Sie sie nochmal schicken?",
    ),
    Mail(
        "thunderbird, german, name first",
        "Die Lieferung ist beschädigt angekommen.\n\n"
        "Acme Support schrieb am 03.06.2024 um 10:15:\n"
        "> Vielen Dank für Ihre Bestellung.\n",
        "Die Lieferung ist beschädigt angekommen.",
    ),
    Mail(
        "gmail, french, html quote without > (converted from a blockquote)",
        "Bonjour,\n\nJe n'ai toujours pas reçu mon colis. Où en est-il ?\n\n"
        "Le lun. 3 juin 2024 à 10:15, Acme Support <support@acme.example> a écrit :\n\n"
        "Bonjour Claire,\nvotre colis a été expédié.\nL'équipe Acme\n",
        "Bonjour,\n\nJe n'ai toujours pas reçu mon colis. Où en est-il ?",
    ),
    Mail(
        "gmail, spanish",
        "¿Cuándo llega mi pedido?\n\n"
        "El lun, 3 jun 2024 a las 10:15, Acme Support (<support@acme.example>) escribió:\n"
        "> Hola Lucía,\n> gracias por tu compra.\n",
        "¿Cuándo llega mi pedido?",
    ),
    Mail(
        "gmail, dutch",
        "Mijn pakket is nog niet bezorgd.\n\n"
        "Op ma 3 jun. 2024 om 10:15 schreef Acme Support <support@acme.example>:\n"
        "> Beste Sanne,\n> je pakket is verzonden.\n",
        "Mijn pakket is nog niet bezorgd.",
    ),
    Mail(
        "gmail, portuguese",
        "Ainda não recebi o reembolso.\n\n"
        "Em seg., 3 de jun. de 2024 às 10:15, Acme Support <support@acme.example> escreveu:\n"
        "> Olá Ana,\n> o reembolso foi aprovado.\n",
        "Ainda não recebi o reembolso.",
    ),
    Mail(
        "gmail, italian",
        "Il codice sconto non funziona.\n\n"
        "Il giorno lun 3 giu 2024 alle ore 10:15 Acme Support <support@acme.example> "
        "ha scritto:\n> Ciao Marco,\n> ecco il tuo codice.\n",
        "Il codice sconto non funziona.",
    ),
    Mail(
        "outlook, original message separator",
        "Please cancel order 4411.\n\nJane\n\n-----Original Message-----\n"
        "From: Acme Support <support@acme.example>\nSent: Monday, June 3, 2024 10:15 AM\n"
        "To: Jane Doe\nSubject: Your order 4411\n\nYour order has shipped.\n",
        "Please cancel order 4411.\n\nJane",
    ),
    Mail(
        "outlook, header block after an underscore rule",
        "Can you change the delivery address to 12 High Street?\n\n"
        "________________________________\nFrom: Acme Support <support@acme.example>\n"
        "Sent: 03 June 2024 10:15\nTo: Tom Baker <tom@example.com>\n"
        "Subject: RE: Delivery\n\nHello Tom, which address should we use?\n",
        "Can you change the delivery address to 12 High Street?",
    ),
    Mail(
        "outlook, german header block",
        "Bitte stornieren Sie das Abo.\n\nVon: Acme Support <support@acme.example>\n"
        "Gesendet: Montag, 3. Juni 2024 10:15\nAn: Jonas Weber\nBetreff: Ihr Abo\n\n"
        "Hallo Jonas, Ihr Abo wurde verlängert.\n",
        "Bitte stornieren Sie das Abo.",
    ),
    Mail(
        "bottom-posted reply: the words after the quote are kept",
        "On 3 Jun 2024, at 10:15, Acme Support <support@acme.example> wrote:\n\n"
        "> Which size would you like instead?\n\nSize M please.\n",
        "Size M please.",
    ),
    Mail(
        "inline reply between quoted lines",
        "> Which colour?\nBlue.\n> Which size?\nM.\n",
        "Blue.\nM.",
    ),
    Mail(
        "sig delimiter",
        "How do I reset my password?\n\n-- \nJane Doe\nHead of Purchasing\nExample Ltd.\n"
        "+44 20 7946 0000\n",
        "How do I reset my password?",
    ),
    Mail(
        "a dash line between two questions is no signature delimiter",
        "Can I pay by invoice?\n--\nAnd can you ship to Norway?",
        "Can I pay by invoice?\n--\nAnd can you ship to Norway?",
    ),
    Mail(
        "booking details that look like a header block stay",
        "I want to change my booking:\nFrom: Berlin\nTo: Munich\nDate: 3 June\n"
        "Can I take a later train?",
        "I want to change my booking:\nFrom: Berlin\nTo: Munich\nDate: 3 June\n"
        "Can I take a later train?",
    ),
    Mail(
        "sent from my iphone",
        "Is the shop open on Sunday?\n\nSent from my iPhone",
        "Is the shop open on Sunday?",
    ),
    Mail(
        "german mobile footer",
        "Ist die Jacke wieder lieferbar?\n\nVon meinem iPhone gesendet",
        "Ist die Jacke wieder lieferbar?",
    ),
    Mail(
        "sign-off block with name, title and phone",
        "I was charged twice for order 5521.\n\nBest regards,\nJane Doe\nOffice Manager\n"
        "Example Ltd.\n+44 20 7946 0000",
        "I was charged twice for order 5521.",
    ),
    Mail(
        "a sign-off followed by a question is not a signature",
        "The parcel is here.\n\nThanks\nCould you also send the invoice again?",
        "The parcel is here.\n\nThanks\nCould you also send the invoice again?",
    ),
    Mail(
        "a sign-off followed by a real sentence is not a signature",
        "The parcel is here.\n\nThanks\nI also need the invoice for my accountant by Friday.",
        "The parcel is here.\n\nThanks\nI also need the invoice for my accountant by Friday.",
    ),
    Mail(
        "the order number after the sign-off stays",
        "My parcel is late.\n\nThanks,\nJane\nOrder 88231",
        "My parcel is late.\n\nThanks,\nJane\nOrder 88231",
    ),
    Mail(
        "a message that is only a thank-you stays",
        "Thank you!",
        "Thank you!",
    ),
    Mail(
        "the customer's own words about an out-of-office are a customer message",
        "Hi,\nI was out of office when the parcel came, so the courier took it back. "
        "Can you send it again?",
        "Hi,\nI was out of office when the parcel came, so the courier took it back. "
        "Can you send it again?",
    ),
    Mail(
        "the customer is on holiday, but this is no auto-reply",
        "Hello,\nI am on vacation until June 10. Please hold my package until then.",
        "Hello,\nI am on vacation until June 10. Please hold my package until then.",
    ),
    Mail(
        "the customer quotes another company's bot",
        'The courier sent me this: "This is an automated message, do not reply." '
        "But nobody came. What should I do?",
        'The courier sent me this: "This is an automated message, do not reply." '
        "But nobody came. What should I do?",
    ),
    Mail(
        "subject mentions auto-reply as a topic",
        "Your app's auto reply setting does not save. Any idea?",
        "Your app's auto reply setting does not save. Any idea?",
        subject="Auto reply setting broken",
    ),
    Mail(
        "subject about a failed delivery of a parcel",
        "The courier says the delivery failed twice.",
        "The courier says the delivery failed twice.",
        subject="Delivery failure - parcel 1234",
    ),
    Mail(
        "excess blank lines",
        "\n\nFirst line.\n\n\n\n\nSecond line.   \n\n\n",
        "First line.\n\nSecond line.",
    ),
    Mail(
        "a message that someone wrote something on a day without a date stays",
        "On Monday my husband wrote:\nplease cancel\nDid you get that?",
        "On Monday my husband wrote:\nplease cancel\nDid you get that?",
    ),
    Mail(
        "a forwarded receipt keeps its content below a forwarding line",
        "See the receipt below, the amount is wrong.\n\n"
        "---------- Forwarded message ---------\nAmount: 120 EUR\n",
        "See the receipt below, the amount is wrong.\n\n"
        "---------- Forwarded message ---------\nAmount: 120 EUR",
    ),
]

AUTOMATIC_MAILS = [
    Mail(
        "outlook automatic reply",
        "I am out of the office until June 10 with limited access to email.",
        "I am out of the office until June 10 with limited access to email.",
        automatic=True,
        subject="Automatic reply: Your order 4411",
    ),
    Mail(
        "out of office, body only",
        "Hello,\n\nThank you for your email. I am currently out of the office and will "
        "respond to your message when I return on Monday.\n\nJane",
        "Hello,\n\nThank you for your email. I am currently out of the office and will "
        "respond to your message when I return on Monday.\n\nJane",
        automatic=True,
    ),
    Mail(
        "german abwesenheitsnotiz",
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 10.06. nicht im Büro und habe "
        "keinen Zugriff auf meine E-Mails.",
        "Vielen Dank für Ihre Nachricht. Ich bin bis zum 10.06. nicht im Büro und habe "
        "keinen Zugriff auf meine E-Mails.",
        automatic=True,
        subject="Abwesenheitsnotiz: Ihre Bestellung",
    ),
    Mail(
        "german, body only",
        "Guten Tag,\nich bin bis zum 10.06. im Urlaub. In dringenden Fällen wenden Sie sich "
        "an meine Kollegin.",
        "Guten Tag,\nich bin bis zum 10.06. im Urlaub. In dringenden Fällen wenden Sie sich "
        "an meine Kollegin.",
        automatic=True,
    ),
    Mail(
        "french réponse automatique",
        "Je suis absente jusqu'au 10 juin. Je vous répondrai à mon retour.",
        "Je suis absente jusqu'au 10 juin. Je vous répondrai à mon retour.",
        automatic=True,
        subject="Réponse automatique : Votre commande",
    ),
    Mail(
        "spanish, body only",
        "Estoy fuera de la oficina hasta el lunes. Responderé a mi regreso.",
        "Estoy fuera de la oficina hasta el lunes. Responderé a mi regreso.",
        automatic=True,
    ),
    Mail(
        "dutch afwezigheidsbericht",
        "Ik ben afwezig tot 10 juni.",
        "Ik ben afwezig tot 10 juni.",
        automatic=True,
        subject="Afwezigheidsbericht: uw bestelling",
    ),
    Mail(
        "italian, body only",
        "Sono fuori sede fino al 10 giugno. Al mio rientro risponderò alla sua email.",
        "Sono fuori sede fino al 10 giugno. Al mio rientro risponderò alla sua email.",
        automatic=True,
    ),
    Mail(
        "portuguese resposta automática",
        "Estou de férias até 10 de junho.",
        "Estou de férias até 10 de junho.",
        automatic=True,
        subject="Resposta automática: pedido",
    ),
    Mail(
        "gmail bounce",
        "** Address not found **\n\nYour message wasn't delivered to jane@example.com because "
        "the address couldn't be found.",
        "** Address not found **\n\nYour message wasn't delivered to jane@example.com because "
        "the address couldn't be found.",
        automatic=True,
        subject="Delivery Status Notification (Failure)",
    ),
    Mail(
        "postfix bounce, body only",
        "This is the mail system at host mx.example.com.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.",
        "This is the mail system at host mx.example.com.\n\nI'm sorry to have to inform you "
        "that your message could not be delivered to one or more recipients.",
        automatic=True,
    ),
    Mail(
        "exchange undeliverable",
        "Delivery has failed to these recipients or groups:\njane@example.com",
        "Delivery has failed to these recipients or groups:\njane@example.com",
        automatic=True,
        subject="Undeliverable: Your order 4411",
    ),
    Mail(
        "another helpdesk's bot",
        "Thank you for contacting Example Shop. This is an automated response confirming "
        "that we received your message.",
        "Thank you for contacting Example Shop. This is an automated response confirming "
        "that we received your message.",
        automatic=True,
    ),
    Mail(
        "another company's notification with a do-not-reply footer",
        "Your package 1Z999 is out for delivery.\n\nPlease do not reply to this email.",
        "Your package 1Z999 is out for delivery.\n\nPlease do not reply to this email.",
        automatic=True,
    ),
    Mail(
        "a ticket confirmation of another helpdesk",
        "Your request #4821 has been received and is being reviewed by our staff.",
        "Your request #4821 has been received and is being reviewed by our staff.",
        automatic=True,
    ),
]

MAILS = CUSTOMER_MAILS + AUTOMATIC_MAILS


@pytest.mark.parametrize("mail", MAILS, ids=[mail.name for mail in MAILS])
def test_the_graph_sees_only_the_customers_own_words(mail: Mail) -> None:
    assert clean_email_text(mail.body) == mail.own_words


@pytest.mark.parametrize("mail", MAILS, ids=[mail.name for mail in MAILS])
def test_automatic_messages_are_recognised_and_customers_are_not(mail: Mail) -> None:
    assert looks_automatic(mail.body, mail.subject) is mail.automatic


def test_the_labelled_set_is_large_and_balanced() -> None:
    assert len(MAILS) >= 25 and len(AUTOMATIC_MAILS) >= 10 and len(CUSTOMER_MAILS) >= 15


@pytest.mark.parametrize(
    ("subject", "automatic"),
    [
        ("Out of Office: Re: order 4411", True),
        ("Out of office", True),
        ("[Auto-Reply] Your order", True),
        ("AutoReply: Your order", True),
        ("Automatische Antwort: Bestellung", True),
        ("Respuesta automática: pedido", True),
        ("Fuera de la oficina: pedido", True),
        ("Risposta automatica: ordine", True),
        ("Absence du bureau", True),
        ("Undelivered Mail Returned to Sender", True),
        ("Mail delivery failed: returning message to sender", True),
        ("Re: out of office when the parcel came", False),
        ("Where is my parcel?", False),
        ("Absence of a refund is unacceptable", False),
        ("", False),
    ],
)
def test_subjects_are_matched_at_their_start_only(subject: str, automatic: bool) -> None:
    assert looks_automatic("Where is my refund?", subject) is automatic


@pytest.mark.parametrize(
    ("headers", "automatic"),
    [
        ({"Auto-Submitted": "auto-replied"}, True),
        ({"auto-submitted": "auto-generated; type=vacation"}, True),
        ({"Auto-Submitted": "no"}, False),
        ({"X-Autoreply": "yes"}, True),
        ({"X-Autorespond": "Vacation"}, True),
        ({"Precedence": "bulk"}, True),
        ({"Precedence": "junk"}, True),
        ({"Precedence": "auto_reply"}, True),
        ({"Precedence": "list"}, False),
        ({"X-Auto-Response-Suppress": "All"}, True),
        ({"X-Auto-Response-Suppress": ["DR", "OOF"]}, True),
        ({"From": "jane@example.com", "Subject": "Refund"}, False),
        ({}, False),
    ],
)
def test_auto_submitted_headers(headers: dict[str, object], automatic: bool) -> None:
    assert auto_submitted_header(headers) is automatic


@pytest.mark.parametrize(
    ("address", "automatic"),
    [
        ("noreply@shop.example", True),
        ("no-reply@shop.example", True),
        ("Shop <do-not-reply@shop.example>", True),
        ("MAILER-DAEMON@mx.example.com", True),
        ("postmaster@example.com", True),
        ("jane.noreply-fan@example.com", False),
        ("jane@example.com", False),
        ("reply@example.com", False),
    ],
)
def test_automatic_senders(address: str, automatic: bool) -> None:
    assert automatic_sender(address) is automatic


# --- properties -----------------------------------------------------------------------------

LINES = st.sampled_from(
    [
        "> quoted",
        "On Mon, Jun 3, 2024 at 10:15 AM Acme <a@b.c> wrote:",
        "On Mon, 3 Jun",
        "2024 Acme wrote:",
        "-----Original Message-----",
        "From: Acme",
        "Sent: Monday",
        "To: Jane",
        "-- ",
        "--",
        "Best regards,",
        "Thanks",
        "Jane",
        "Sent from my iPhone",
        "Where is my order?",
        "Order 1234",
        "",
        "   ",
        "_____",
    ]
)
MAIL_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=25).map("\n".join),
    st.lists(LINES, max_size=25).map("\r\n".join),
)


@settings(max_examples=300, deadline=None)
@given(MAIL_TEXT)
def test_cleaning_never_raises_never_grows_and_is_idempotent(text: str) -> None:
    cleaned = clean_email_text(text)
    assert len(cleaned) <= len(text)
    assert clean_email_text(cleaned) == cleaned


@settings(max_examples=300, deadline=None)
@given(MAIL_TEXT, st.one_of(st.text(max_size=80), st.sampled_from(["Automatic reply:", ""])))
def test_looks_automatic_never_raises(text: str, subject: str) -> None:
    assert looks_automatic(text, subject) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=30), st.one_of(st.text(max_size=30), st.lists(st.text()))))
def test_auto_submitted_header_never_raises(headers: dict[str, object]) -> None:
    assert auto_submitted_header(headers) in (True, False)
