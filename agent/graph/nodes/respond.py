"""respond: make the model's draft fit for the customer — clean, safe, grounded, cited.

Nothing that is not for the customer gets through: reasoning (``<think>``), raw tool-call
markup, internal notes, the system prompt's own text, and PII the customer wrote (replies
never echo it). A knowledge answer whose sentences the passages and tool results do not
support is replaced by a quote of the best passage, or handed to a person.
"""

import re
from dataclasses import replace
from typing import Any

from agent.config.botfile import BotConfig
from agent.graph.citations import citation, cited_passages, renumber
from agent.graph.deps import GraphDeps
from agent.graph.prompts import system_prompt
from agent.graph.replies import quoted_answer, shorten
from agent.graph.rules import escalation
from agent.graph.state import EscalationReason, Memory, Reply, TraceEvent, TurnState
from agent.llm.qwen import parse_xml_tool_calls, strip_reasoning_markup
from agent.safety import check_grounding, detect_language, find_pii

_INTERNAL_LINE = re.compile(
    r"^\s*(?:internal note|note to (?:the )?agent|note for (?:the )?team|\[internal\])\b.*$",
    re.IGNORECASE | re.MULTILINE,
)
_CITATION = re.compile(r"\[\d{1,2}\]")
_LEAK_MIN_CHARS = 40


def clean_reply(draft: str) -> str:
    """Remove anything not meant for the customer: reasoning, tool-call markup, notes."""
    text, _reasoning = strip_reasoning_markup(draft)
    _calls, text = parse_xml_tool_calls(text)
    text = _INTERNAL_LINE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def leaks_prompt(text: str, prompt: str) -> bool:
    """Whether the reply repeats a line of the system prompt (40+ characters) verbatim."""
    reply = _flat(text)
    lines = (_flat(line.lstrip("- ")) for line in prompt.splitlines())
    return any(len(line) >= _LEAK_MIN_CHARS and line in reply for line in lines)


def unecho_pii(text: str, message: str) -> str:
    """The reply without the PII values the customer's message contained."""
    for match in find_pii(message):
        text = text.replace(match.text, f"[{match.kind}]")
    return text


def make_respond(deps: GraphDeps) -> Any:
    async def respond(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        passages = state.get("passages", [])
        text = unecho_pii(clean_reply(state.get("draft", "")), state["message"])
        detail: dict[str, Any] = {}
        if leaks_prompt(text, str(system_prompt(bot).content)):
            text, detail["prompt_leak"] = "", True
        cited = cited_passages(text, passages)
        text = shorten(renumber(text, passages, cited), bot.max_reply_chars)
        detail |= {"chars": len(text), "citations": len(cited)}
        detail["language"] = detect_language(text, tuple(bot.languages))
        update: dict[str, Any] = {"memory": _remember(state, bot)}
        if text and _grounded(text, state, bot, detail):
            reply = Reply(text, tuple(citation(p) for p in cited), grounded_in_kb=bool(cited))
            return update | {"reply": reply, "trace": [TraceEvent("respond", detail)]}
        return update | _fallback(state, bot, detail)

    return respond


def _grounded(text: str, state: TurnState, bot: BotConfig, detail: dict[str, Any]) -> bool:
    """A knowledge answer (no tool used this turn) must rest on the passages.

    Answers about the customer's records come from tool results in the model's own words
    (dates and amounts reformatted), so they are not held to the passages' wording.
    """
    if state.get("tool_calls_made"):
        return True
    grounding = check_grounding(_CITATION.sub("", text), _sources(state))
    detail["grounding"] = grounding.score
    if grounding.sentences == 0 or grounding.score >= bot.escalation.min_grounding:
        return True
    detail["unsupported"] = list(grounding.unsupported)
    return False


def _fallback(state: TurnState, bot: BotConfig, detail: dict[str, Any]) -> dict[str, Any]:
    """An empty, leaking or unsupported draft: quote the best passage, or hand off."""
    passages = state.get("passages", [])
    if passages and state.get("retrieval_confidence", 0.0) >= bot.retrieval.min_score:
        best = passages[0]
        reply = Reply(
            quoted_answer(best, bot.max_reply_chars), (citation(best),), grounded_in_kb=True
        )
        detail["rewritten"] = "quoted the best passage"
        return {"reply": reply, "trace": [TraceEvent("respond", detail)]}
    why = "the draft answer was not supported by the knowledge base or the tools"
    if not detail.get("chars"):
        why = "the model's answer had nothing fit for the customer"
    detail["rewritten"] = "handed off"
    return {
        "escalation": escalation(bot, EscalationReason.UNGROUNDED, why),
        "trace": [TraceEvent("respond", detail)],
    }


def _sources(state: TurnState) -> list[str]:
    passages = [p.text for p in state.get("passages", [])]
    tools = [str(m.content) for m in state.get("exchange", []) if m.role == "tool"]
    return passages + tools


def _remember(state: TurnState, bot: BotConfig) -> Memory:
    """Count turns the knowledge base could not answer and no tool helped with."""
    memory = state.get("memory") or Memory()
    weak = state.get("retrieval_confidence", 0.0) < bot.retrieval.min_score
    unanswered = weak and not state.get("tool_calls_made")
    return replace(
        memory, low_confidence_turns=memory.low_confidence_turns + 1 if unanswered else 0
    )


def _flat(text: str) -> str:
    return " ".join(text.casefold().split())
