"""Facts the conversation reveals (an order number, an e-mail address), kept in memory."""

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
ORDER_ID = re.compile(r"\b(?:[A-Z]{2,4}-?|[A-Za-z]{2,4}-)\d{4,10}\b")


def extract_facts(text: str) -> dict[str, str]:
    """The newest value of each fact the text mentions."""
    found: dict[str, str] = {}
    orders = ORDER_ID.findall(text)
    if orders:
        found["order_id"] = orders[-1].upper()
    emails = EMAIL.findall(text)
    if emails:
        found["email"] = emails[-1]
    return found
