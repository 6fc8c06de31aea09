"""Built-in defaults a bot file may override."""

# Explicit requests for a human, matched case-insensitively as whole phrases.
HUMAN_REQUEST_PHRASES: dict[str, list[str]] = {
    "en": [
        "talk to a human",
        "speak to a human",
        "talk to a person",
        "speak to a person",
        "real person",
        "human agent",
        "talk to an agent",
        "speak to an agent",
        "live agent",
        "customer service representative",
        "talk to someone",
    ],
    "es": [
        "hablar con una persona",
        "hablar con un humano",
        "hablar con un agente",
        "agente humano",
        "persona real",
    ],
    "de": [
        "mit einem menschen sprechen",
        "mit einem mitarbeiter sprechen",
        "echten menschen",
        "mit einer person sprechen",
        "menschlichen mitarbeiter",
    ],
    "fr": [
        "parler à un humain",
        "parler à une personne",
        "parler à un agent",
        "conseiller humain",
        "vraie personne",
    ],
}
