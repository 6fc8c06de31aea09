"""guard: read the message before anything acts on it — size, language, injection, abuse,
PII, sensitive topics, sentiment. Deterministic; the signals feed the escalation rules, the
redaction of traces and the reply's language."""

from typing import Any

from agent.config.localized import localized
from agent.graph.deps import GraphDeps
from agent.graph.state import Memory, Reply, Signals, TraceEvent, TurnState
from agent.safety import detect_language, find_pii, inspect_message, is_negative, sensitive_topic


def read_signals(text: str, languages: list[str], known_language: str | None) -> Signals:
    verdict = inspect_message(text)
    return Signals(
        language=detect_language(text, tuple(languages)) or known_language,
        injection=verdict.injection,
        abuse=verdict.abuse,
        negative=is_negative(text),
        topic=sensitive_topic(text),
        pii=tuple(sorted({match.kind for match in find_pii(text)})),
        reasons=verdict.reasons,
    )


def make_guard(deps: GraphDeps) -> Any:
    async def guard(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        text = state["message"]
        limit = bot.guard.max_message_chars
        truncated = len(text) > limit
        text = text[:limit]
        memory = state.get("memory") or Memory()
        signals = read_signals(text, bot.languages, memory.language)
        if truncated:
            signals = Signals(**{**signals.__dict__, "truncated": True})
        detail = {
            "language": signals.language,
            "injection": signals.injection,
            "abuse": signals.abuse,
            "negative": signals.negative,
            "topic": signals.topic,
            "pii": list(signals.pii),
            "reasons": list(signals.reasons),
            "truncated": truncated,
        }
        update: dict[str, Any] = {"message": text, "signals": signals}
        if signals.injection and not signals.abuse:
            update["reply"] = Reply(localized(bot.guard.injection_reply, signals.language))
        return {**update, "trace": [TraceEvent("guard", detail)]}

    return guard


def after_guard(state: TurnState) -> str:
    """An injection attempt gets the tenant's neutral answer; everything else goes on."""
    signals = state.get("signals") or Signals()
    return "deflect" if signals.injection and not signals.abuse else "understand"
