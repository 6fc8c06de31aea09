"""Deterministic intents at run time: match a message, call the read-only tool, fill a reply.

``match_intent`` finds the first configured intent (``agent.config.intents``) the message
matches, trying the customer's language first; ``run_intent`` calls its tool as the
verified customer and fills the reply template. Nothing here needs a model.

The tools are customer-scoped: an order of someone else is "not found", exactly like one
that does not exist, and the customer reads only the intent's ``not_found`` answer
(filled with what they wrote), never the tool's own message.
"""

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.config.botfile import BotConfig
from agent.config.intents import (
    REGEX_FLAGS,
    IntentConfig,
    IntentWhen,
    Placeholder,
    fold,
    template_parts,
)
from agent.errors import ConfigError
from tools.context import ToolContext
from tools.errors import ToolsError
from tools.registry import SideEffect, ToolOutcome, ToolRegistry

_NOT_FOUND = ("not found", "nothing found")
_INDEX = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\*|-?\d+)\])?$")


@dataclass(frozen=True)
class IntentMatch:
    """An intent the message matched, in which language, with what it captured."""

    intent: IntentConfig
    language: str
    captures: dict[str, str]


@dataclass(frozen=True)
class IntentOutcome:
    """A reply for the customer, or why a person must take over (``escalation``).

    ``outcome`` is ``answered``, ``not_found``, ``refused`` or ``escalated``; ``detail``
    goes into the turn's trace; ``tool_failed`` marks an escalation caused by the tool.
    """

    intent: str
    outcome: str
    text: str | None = None
    escalation: str | None = None
    tool_failed: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


# Matching


def match_intent(
    text: str,
    bot: BotConfig,
    *,
    model_available: bool = False,
    languages: Sequence[str | None] = (),
) -> IntentMatch | None:
    """The first of the bot's intents the message matches (None: none does).

    With ``model_available`` only ``when: always`` intents are considered. ``languages``
    (the detected language, the customer's locale) are tried first, then the bot's own
    languages in order; an intent matches only when every capture its tool arguments
    need is found.
    """
    preferred = [_base_language(language) for language in languages if language]
    preferred = list(dict.fromkeys([*preferred, *bot.languages]))
    for intent in bot.intents:
        if model_available and intent.when is not IntentWhen.ALWAYS:
            continue
        found = _match(intent, text, preferred)
        if found is not None:
            return found
    return None


def needs_intent(text: str, bot: BotConfig, languages: Sequence[str | None] = ()) -> bool:
    """Whether a ``when: always`` intent answers this message even though a model is up
    (for the graph's routing: such a message goes to the degraded node's intents)."""
    return match_intent(text, bot, model_available=True, languages=languages) is not None


def _match(intent: IntentConfig, text: str, preferred: list[str]) -> IntentMatch | None:
    texts = list(dict.fromkeys([text, _without_accents(text)]))
    for language in _ordered(intent, preferred):
        captures = _pattern_captures(intent, language, texts)
        if captures is None and _has_phrase(intent, language, text):
            captures = {}
        if captures is None:
            continue
        values = _completed(intent, captures, texts)
        if intent.required_captures() <= set(values):
            return IntentMatch(intent, language, values)
    return None


def _ordered(intent: IntentConfig, preferred: list[str]) -> list[str]:
    own = list(dict.fromkeys([*intent.patterns, *intent.phrases]))
    return [language for language in preferred if language in own] + [
        language for language in own if language not in preferred
    ]


def _pattern_captures(
    intent: IntentConfig, language: str, texts: list[str]
) -> dict[str, str] | None:
    for regex in intent.patterns.get(language, []):
        for text in texts:
            found = re.search(regex, text, REGEX_FLAGS)
            if found is not None:
                return {k: v for k, v in found.groupdict().items() if v}
    return None


def _has_phrase(intent: IntentConfig, language: str, text: str) -> bool:
    folded = fold(text)
    return any(
        re.search(rf"(?<!\w){re.escape(fold(phrase))}(?!\w)", folded)
        for phrase in intent.phrases.get(language, [])
    )


def _completed(intent: IntentConfig, captures: dict[str, str], texts: list[str]) -> dict[str, str]:
    """The pattern's captures, then ``captures`` found anywhere, each normalised."""
    values = dict(captures)
    for name, regex in intent.captures.items():
        if name not in values:
            value = _search_capture(name, regex, texts)
            if value:
                values[name] = value
    for name, normalise in intent.normalise.items():
        if name in values:
            values[name] = normalise.apply(values[name])
    return {name: value for name, value in values.items() if value}


def _search_capture(name: str, regex: str, texts: list[str]) -> str | None:
    for text in texts:
        found = re.search(regex, text, REGEX_FLAGS)
        if found is None:
            continue
        if name in found.re.groupindex:
            return found.group(name)
        return found.group(1) if found.re.groups else found.group(0)
    return None


def _without_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _base_language(language: str) -> str:
    return language.replace("_", "-").split("-", 1)[0].lower()


# Running


async def run_intent(
    match: IntentMatch,
    registry: ToolRegistry,
    context: ToolContext,
    language: str | None = None,
) -> IntentOutcome:
    """Answer the matched intent: call its tool (if any) as the customer, fill the reply.

    ``language`` defaults to the one the message matched in. The tool failing, or
    answering in a way no template covers, is an escalation, never an invented answer.
    """
    intent = match.intent
    language = language if language in intent.reply else match.language
    if intent.tool is None:
        return _answered(match, language, match.captures, {})
    problem = unusable_tool(intent, registry)
    if problem is not None:
        return _escalated(match, language, problem, {"tool": intent.tool})
    arguments = tool_arguments(intent, match.captures)
    try:
        outcome = await registry.invoke(intent.tool, arguments, context)
    except ToolsError as error:
        detail = {"tool": intent.tool, "arguments": arguments, "error": str(error)}
        return _escalated(match, language, f"the {intent.tool} tool failed: {error}", detail, True)
    return _from_tool(match, language, arguments, outcome)


def unusable_tool(intent: IntentConfig, registry: ToolRegistry) -> str | None:
    """Why the intent's tool cannot be called (None: it can): missing, or not read-only."""
    if intent.tool is None:
        return None
    if intent.tool not in registry.names:
        return f"the intent {intent.name}'s tool {intent.tool!r} is not enabled for this bot"
    if registry.get(intent.tool).side_effect is not SideEffect.READ:
        return f"the intent {intent.name}'s tool {intent.tool!r} is not read-only; not called"
    return None


def check_intent_tools(bot: BotConfig, registry: ToolRegistry, source: str) -> None:
    """At start-up: every intent's tool exists and is read-only (ConfigError otherwise)."""
    for index, intent in enumerate(bot.intents):
        problem = unusable_tool(intent, registry)
        if problem is not None:
            raise ConfigError(
                f"invalid configuration in {source}:\n  intents.{index}.tool: {problem}"
            )


def tool_arguments(intent: IntentConfig, captures: Mapping[str, str]) -> dict[str, Any]:
    """The tool's arguments: string templates filled with the captures, others as written."""
    arguments: dict[str, Any] = {}
    for name, value in intent.arguments.items():
        arguments[name] = _fill_captures(value, captures) if isinstance(value, str) else value
    return arguments


def _fill_captures(template: str, captures: Mapping[str, str]) -> str:
    return "".join(
        captures.get(part.path, "") if isinstance(part, Placeholder) else part
        for part in template_parts(template)
    )


def _from_tool(
    match: IntentMatch, language: str, arguments: dict[str, Any], outcome: ToolOutcome
) -> IntentOutcome:
    intent = match.intent
    detail = {"tool": intent.tool, "arguments": arguments, "ok": outcome.ok}
    if outcome.needs_approval:
        return _escalated(match, language, f"{intent.tool} needs a person's approval", detail)
    if outcome.ok:
        return _answered(match, language, match.captures, outcome.content, detail)
    kind = "not_found" if str(outcome.content).lower().startswith(_NOT_FOUND) else "refused"
    templates: dict[str, str] = getattr(intent, kind)
    template = templates.get(language) or next(iter(templates.values()), None)
    if template is None:
        why = f"the {intent.tool} tool answered: {outcome.content}"
        return _escalated(match, language, why, {**detail, "error": str(outcome.content)})
    text = _fill_captures(template, match.captures)
    return IntentOutcome(intent.name, kind, text=text, detail=_trace(match, language, kind, detail))


def _answered(
    match: IntentMatch,
    language: str,
    captures: Mapping[str, str],
    result: Any,
    detail: dict[str, Any] | None = None,
) -> IntentOutcome:
    intent = match.intent
    labels = {path: by_language.get(language, {}) for path, by_language in intent.labels.items()}
    for template in intent.reply.get(language, []):
        text = render(template, captures, result, labels)
        if text is not None:
            trace = _trace(match, language, "answered", detail or {"tool": None})
            return IntentOutcome(intent.name, "answered", text=text, detail=trace)
    why = f"no reply template of the intent {intent.name} could be filled from the answer"
    return _escalated(match, language, why, detail or {"tool": None})


def _escalated(
    match: IntentMatch,
    language: str,
    why: str,
    detail: dict[str, Any],
    tool_failed: bool = False,
) -> IntentOutcome:
    trace = _trace(match, language, "escalated", detail)
    return IntentOutcome(
        match.intent.name, "escalated", escalation=why, tool_failed=tool_failed, detail=trace
    )


def _trace(
    match: IntentMatch, language: str, outcome: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {"intent": match.intent.name, "language": language, "outcome": outcome, **detail}


# Templates


def render(
    template: str,
    captures: Mapping[str, str],
    result: Any,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> str | None:
    """The template filled from the captures and the tool's result; None when a
    placeholder has no value (so that the next template is tried)."""
    out: list[str] = []
    for part in template_parts(template):
        if not isinstance(part, Placeholder):
            out.append(part)
            continue
        value = captures.get(part.path) if part.path in captures else lookup(result, part.path)
        text = _formatted(value, (labels or {}).get(part.path, {}))
        if text is None:
            return None
        out.append(text)
    return "".join(out)


def lookup(value: Any, path: str) -> Any:
    """The value at ``path`` (``a.b``, ``items[0].name``, ``items[*].name``); None if absent."""
    return _walk(value, path.split("."))


def _walk(value: Any, segments: list[str]) -> Any:
    if not segments:
        return value
    step = _INDEX.match(segments[0])
    if step is None or not isinstance(value, Mapping):
        return None
    inner = value.get(step.group("key"))
    index = step.group("index")
    if index is None:
        return _walk(inner, segments[1:])
    if not isinstance(inner, list):
        return None
    if index == "*":
        return [item for item in (_walk(i, segments[1:]) for i in inner) if item is not None]
    position = int(index)
    if not -len(inner) <= position < len(inner):
        return None
    return _walk(inner[position], segments[1:])


def _formatted(value: Any, labels: Mapping[str, str]) -> str | None:
    if isinstance(value, list):
        parts = [_scalar(item, labels) for item in value]
        present = [part for part in parts if part]
        return ", ".join(present) if present else None
    return _scalar(value, labels)


def _scalar(value: Any, labels: Mapping[str, str]) -> str | None:
    if value is None or isinstance(value, Mapping | list):
        return None
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.2f}"
    else:
        text = str(value).strip()
    return labels.get(text, text) or None
