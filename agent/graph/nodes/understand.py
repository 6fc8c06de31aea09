"""understand: deterministic signals first (an explicit request for a human)."""

import re
import unicodedata
from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.deps import GraphDeps
from agent.graph.state import Escalation, EscalationReason, Priority, TraceEvent, TurnState


def asks_for_human(text: str, bot: BotConfig) -> str | None:
    """The configured phrase the message contains, if any (case- and accent-tolerant)."""
    normalised = _normalise(text)
    for phrase in bot.escalation.all_phrases():
        if re.search(rf"(?<!\w){re.escape(_normalise(phrase))}(?!\w)", normalised):
            return phrase
    return None


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(without_accents.split())


def make_understand(deps: GraphDeps) -> Any:
    async def understand(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        phrase = asks_for_human(state["message"], bot)
        if phrase is None:
            return {"trace": [TraceEvent("understand", {"human_request": False})]}
        escalation = Escalation(
            reason=EscalationReason.CUSTOMER_REQUEST,
            priority=Priority.NORMAL,
            detail=f"the customer asked for a person ({phrase!r})",
        )
        return {
            "escalation": escalation,
            "trace": [TraceEvent("understand", {"human_request": True, "phrase": phrase})],
        }

    return understand
