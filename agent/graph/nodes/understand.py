"""understand: deterministic signals first — an explicit request for a human, then the
tenant's escalation rules (abuse, sensitive topics, VIP, frustration, too many turns) —
and the conversation's memory updated with this message."""

import re
import unicodedata
from dataclasses import replace
from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.deps import GraphDeps
from agent.graph.facts import extract_facts
from agent.graph.rules import escalation, first_escalation
from agent.graph.state import EscalationReason, Memory, Signals, TraceEvent, TurnState


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


def remember(memory: Memory, message: str, signals: Signals) -> Memory:
    """The memory after this customer message: counters, language, facts mentioned."""
    return replace(
        memory,
        facts={**memory.facts, **extract_facts(message)},
        turns=memory.turns + 1,
        negative_turns=memory.negative_turns + 1 if signals.negative else 0,
        language=signals.language or memory.language,
    )


def make_understand(deps: GraphDeps) -> Any:
    async def understand(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        signals = state.get("signals") or Signals()
        memory = remember(state.get("memory") or Memory(), state["message"], signals)
        phrase = asks_for_human(state["message"], bot)
        found = (
            escalation(
                bot,
                EscalationReason.CUSTOMER_REQUEST,
                f"the customer asked for a person ({phrase!r})",
            )
            if phrase is not None
            else first_escalation(bot, signals, memory, state.get("customer"))
        )
        detail: dict[str, Any] = {"human_request": phrase is not None}
        if phrase is not None:
            detail["phrase"] = phrase
        if found is not None:
            detail["escalation"] = found.reason.value
        update: dict[str, Any] = {"memory": memory, "trace": [TraceEvent("understand", detail)]}
        if found is not None:
            update["escalation"] = found
        return update

    return understand
