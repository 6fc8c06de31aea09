"""Deterministic intents: questions a bot answers with no model at all.

A bot file's ``intents:`` list names patterns in the customer's message (regexes or
phrases, per language), an optional read-only tool called with arguments filled from
what the patterns captured, and reply templates filled from the captures and the tool's
result. They are the degraded path's first resort (``when: without_model``, the
default); ``when: always`` asks for one even while the model is available.

Templates use ``{name}`` placeholders: a capture, or a field of the tool's result
(``{status}``, ``{delivery_address.city}``, ``{events[-1].location}``, ``{items[*].name}``
for every item, joined with ", "); ``{{`` and ``}}`` are literal braces. Each language's
``reply`` is a list tried in order: the first template whose placeholders all have a
value is sent. ``docs/degraded.md`` describes the format with an example.
"""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

REGEX_FLAGS = re.IGNORECASE
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$", re.IGNORECASE)
_SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*(?:\[(?:\*|-?\d+)\])?"
_PATH = re.compile(rf"^{_SEGMENT}(?:\.{_SEGMENT})*$")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntentWhen(StrEnum):
    WITHOUT_MODEL = "without_model"  # the degraded path: no model, or it failed
    ALWAYS = "always"  # also while the model is available


@dataclass(frozen=True)
class Placeholder:
    """A ``{path}`` in a template: ``name`` is its first segment (a capture or a field)."""

    path: str

    @property
    def name(self) -> str:
        return self.path.split(".", 1)[0].split("[", 1)[0]


def template_parts(template: str) -> list[str | Placeholder]:
    """The template as literal text and placeholders; ValueError on a malformed one."""
    parts: list[str | Placeholder] = []
    position = 0
    for token in _TOKEN.finditer(template):
        parts.append(template[position : token.start()])
        position = token.end()
        text = token.group(0)
        if text in ("{{", "}}"):
            parts.append(text[0])
        elif token.group(1) is not None and _PATH.match(token.group(1).strip()):
            parts.append(Placeholder(token.group(1).strip()))
        elif token.group(1) is not None:
            raise ValueError(f"{text!r} is not a placeholder (use {{name}} or {{a.b[0]}})")
        else:
            raise ValueError(f"unmatched {text!r} (write {text}{text} for a literal brace)")
    parts.append(template[position:])
    return [part for part in parts if part != ""]


def placeholders(template: str) -> list[Placeholder]:
    return [part for part in template_parts(template) if isinstance(part, Placeholder)]


def fold(text: str) -> str:
    """Case and accents aside, whitespace collapsed (how phrases are compared)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(without_accents.split())


class Normalise(_Strict):
    """How a captured value is cleaned before use: ``keep``, then ``case``, then ``prefix``.

    ``{keep: digits, prefix: "BL-"}`` turns "bl 10234", "#10234" and "BL10234" into
    "BL-10234".
    """

    keep: Literal["digits", "alphanumeric"] | None = Field(
        default=None, description="Drop every other character."
    )
    case: Literal["upper", "lower"] | None = None
    prefix: str = Field(default="", description="Added unless the value already starts with it.")

    def apply(self, value: str) -> str:
        value = value.strip()
        if self.keep == "digits":
            value = "".join(c for c in value if c.isdigit())
        elif self.keep == "alphanumeric":
            value = "".join(c for c in value if c.isalnum())
        if self.case == "upper":
            value = value.upper()
        elif self.case == "lower":
            value = value.lower()
        if self.prefix and not value.casefold().startswith(self.prefix.casefold()):
            value = self.prefix + value
        return value


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Templates = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_as_list)]
ArgumentValue = str | int | float | bool


class IntentConfig(_Strict):
    """One deterministic intent of a bot file's ``intents:`` list."""

    name: str = Field(description="Lowercase letters, digits and '_'; shown in traces.")
    description: str = ""
    when: IntentWhen = Field(
        default=IntentWhen.WITHOUT_MODEL,
        description="without_model: only on the degraded path; always: even with a model.",
    )
    patterns: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per language, regexes (case-insensitive) searched in the message; "
        "named groups, (?P<order_id>...), are captures.",
    )
    phrases: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Per language, phrases the message contains (case and accents aside).",
    )
    captures: dict[str, str] = Field(
        default_factory=dict,
        description="Values found anywhere in the message, whatever the language: name → "
        "regex (its named group of that name, else its first group, else the whole match).",
    )
    normalise: dict[str, Normalise] = Field(
        default_factory=dict, description="Per capture, how its value is cleaned."
    )
    tool: str | None = Field(
        default=None, description="A read-only tool of the bot, called as the customer."
    )
    arguments: dict[str, ArgumentValue] = Field(
        default_factory=dict, description='The tool\'s arguments; strings are templates: "{x}".'
    )
    reply: dict[str, Templates] = Field(
        min_length=1,
        description="Per language, templates in order of preference: the first whose "
        "placeholders all have a value is sent.",
    )
    labels: dict[str, dict[str, dict[str, str]]] = Field(
        default_factory=dict,
        description="Per placeholder and language, words for raw values "
        "(status: {de: {shipped: versandt}}).",
    )
    not_found: dict[str, str] = Field(
        default_factory=dict,
        description="Per language, the answer when the tool finds nothing for this customer "
        "(placeholders: captures only); absent: escalate.",
    )
    refused: dict[str, str] = Field(
        default_factory=dict,
        description="Per language, the answer when the tool refuses the request for another "
        "reason (placeholders: captures only); absent: escalate.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lowercase letters, digits and '_', starting with a letter")
        return value

    @field_validator("patterns")
    @classmethod
    def _regexes(cls, patterns: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, regexes in patterns.items():
            for index, regex in enumerate(regexes):
                _compile(regex, f"{language}[{index}]")
        return patterns

    @field_validator("captures")
    @classmethod
    def _capture_regexes(cls, captures: dict[str, str]) -> dict[str, str]:
        for name, regex in captures.items():
            _compile(regex, name)
        return captures

    @field_validator("patterns", "phrases", "reply", "not_found", "refused")
    @classmethod
    def _languages(cls, value: dict[str, object]) -> dict[str, object]:
        for language in value:
            if not _LANGUAGE.match(language):
                raise ValueError(f"{language!r} is not a language code (en, de, pt-br...)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "IntentConfig":
        if not any(self.patterns.values()) and not any(self.phrases.values()):
            raise ValueError("patterns or phrases: give at least one, or nothing can match")
        self._check_tool_fields()
        self._check_captures_used()
        self._check_templates()
        self._check_reply_languages()
        return self

    def _check_tool_fields(self) -> None:
        if self.tool is None:
            for field in ("arguments", "not_found", "refused"):
                if getattr(self, field):
                    raise ValueError(f"{field}: only an intent with a tool has {field}")

    def _check_captures_used(self) -> None:
        known = self.capture_names()
        for name in self.normalise:
            if name not in known:
                raise ValueError(f"normalise.{name}: no pattern or capture of that name")
        for argument, value in self.arguments.items():
            for placeholder in _template_placeholders(value, f"arguments.{argument}"):
                self._check_always_captured(placeholder.name, f"arguments.{argument}")

    def _check_always_captured(self, name: str, field: str) -> None:
        """Every way the intent can match must yield ``name``."""
        if name in self.captures:
            return
        for where, regex in self._routes():
            if regex is None or name not in re.compile(regex, REGEX_FLAGS).groupindex:
                raise ValueError(
                    f"{field}: {{{name}}} is not a named group of {where} nor one of captures"
                )

    def _routes(self) -> Iterator[tuple[str, str | None]]:
        for language, regexes in self.patterns.items():
            for index, regex in enumerate(regexes):
                yield f"patterns.{language}[{index}] {regex!r}", regex
        for language, phrases in self.phrases.items():
            if phrases:
                yield f"phrases.{language} (phrases capture nothing)", None

    def _check_templates(self) -> None:
        for language, templates in self.reply.items():
            for index, template in enumerate(templates):
                found = _template_placeholders(template, f"reply.{language}[{index}]")
                if self.tool is None:  # nothing but the captures to fill it with
                    for placeholder in found:
                        self._check_always_captured(placeholder.name, f"reply.{language}[{index}]")
        for field in ("not_found", "refused"):
            for language, template in getattr(self, field).items():
                for placeholder in _template_placeholders(template, f"{field}.{language}"):
                    self._check_always_captured(placeholder.name, f"{field}.{language}")

    def _check_reply_languages(self) -> None:
        for field in ("patterns", "phrases"):
            for language, entries in getattr(self, field).items():
                if entries and language not in self.reply:
                    raise ValueError(
                        f"reply: no template in {language!r}, the language of {field}.{language}"
                    )

    def capture_names(self) -> set[str]:
        """Every name a match can capture (named groups and ``captures``)."""
        names = set(self.captures)
        for regexes in self.patterns.values():
            for regex in regexes:
                names |= set(re.compile(regex, REGEX_FLAGS).groupindex)
        return names

    def required_captures(self) -> set[str]:
        """The captures the tool's arguments need: without them the intent does not match."""
        return {
            placeholder.name
            for value in self.arguments.values()
            if isinstance(value, str)
            for placeholder in placeholders(value)
        }


def _compile(regex: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(regex, REGEX_FLAGS)
    except re.error as error:
        raise ValueError(f"{where}: {regex!r} is not a valid regex: {error}") from None


def _template_placeholders(value: object, field: str) -> list[Placeholder]:
    if not isinstance(value, str):
        return []
    try:
        return placeholders(value)
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


def _fit_the_bot(intents: list[IntentConfig], info: ValidationInfo) -> list[IntentConfig]:
    """Unique names; languages the bot speaks. (Whether each tool is enabled and read-only
    is known once the tools are loaded: ``agent.graph.intents.check_intent_tools``.)"""
    languages = info.data.get("languages")
    seen: set[str] = set()
    for index, intent in enumerate(intents):
        if intent.name in seen:
            raise ValueError(f"intents[{index}].name: {intent.name!r} is used twice")
        seen.add(intent.name)
        if languages is not None:
            _check_languages(intent, index, languages)
    return intents


def _check_languages(intent: IntentConfig, index: int, languages: list[str]) -> None:
    for field in ("patterns", "phrases", "reply"):
        for language in getattr(intent, field):
            if language not in languages:
                raise ValueError(
                    f"intents[{index}].{field}.{language}: not one of the bot's languages "
                    f"({', '.join(languages)})"
                )


Intents = Annotated[list[IntentConfig], AfterValidator(_fit_the_bot)]
"""A bot file's ``intents:``; declared after ``languages``, which it checks."""
