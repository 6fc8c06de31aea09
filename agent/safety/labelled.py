"""The labelled evaluation sets: customer messages, and replies with their sources.

Both are YAML files packaged in ``agent/safety/eval`` (their headers describe the
fields); another file of the same shape can be given instead.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from agent.errors import DeskhandError
from agent.safety.pii import KINDS
from agent.safety.topics import TOPICS

MESSAGES = "messages.yaml"
GROUNDING = "grounding.yaml"


class LabelledSetError(DeskhandError):
    """A labelled set is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class LabelledMessage:
    """A customer message and what the checks should find in it."""

    text: str
    language: str
    injection: bool
    abuse: bool
    negative: bool
    topic: str | None
    pii: frozenset[str]


@dataclass(frozen=True)
class GroundingCase:
    """An assistant reply, the passages it was given, and whether they support all of it."""

    language: str
    reply: str
    sources: tuple[str, ...]
    supported: bool


def load_messages(path: Path | None = None) -> list[LabelledMessage]:
    """The labelled messages of ``path`` (default: the packaged set)."""
    name, data = _load(path, MESSAGES)
    entries = _field(data, "messages", list, name)
    messages = []
    for number, entry in enumerate(entries, start=1):
        where = f"{name}: message {number}"
        if not isinstance(entry, dict):
            raise LabelledSetError(f"{where}: expected a mapping")
        topic = entry.get("topic")
        if topic is not None and topic not in TOPICS:
            raise LabelledSetError(f"{where}: topic {topic!r} is not one of {', '.join(TOPICS)}")
        pii = _field(entry, "pii", list, where)
        unknown = sorted(set(map(str, pii)) - set(KINDS))
        if unknown:
            raise LabelledSetError(f"{where}: unknown pii kinds {unknown} (known: {KINDS})")
        messages.append(
            LabelledMessage(
                text=_field(entry, "text", str, where),
                language=_field(entry, "language", str, where),
                injection=_field(entry, "injection", bool, where),
                abuse=_field(entry, "abuse", bool, where),
                negative=_field(entry, "negative", bool, where),
                topic=topic,
                pii=frozenset(pii),
            )
        )
    return messages


def load_grounding(path: Path | None = None) -> list[GroundingCase]:
    """The labelled replies of ``path`` (default: the packaged set), sources resolved."""
    name, data = _load(path, GROUNDING)
    passages = _field(data, "passages", dict, name)
    cases = []
    for number, entry in enumerate(_field(data, "cases", list, name), start=1):
        where = f"{name}: case {number}"
        if not isinstance(entry, dict):
            raise LabelledSetError(f"{where}: expected a mapping")
        ids = _field(entry, "sources", list, where)
        missing = [source for source in ids if source not in passages]
        if missing:
            raise LabelledSetError(f"{where}: unknown passages {missing}")
        cases.append(
            GroundingCase(
                language=_field(entry, "language", str, where),
                reply=_field(entry, "reply", str, where),
                sources=tuple(str(passages[source]) for source in ids),
                supported=_field(entry, "supported", bool, where),
            )
        )
    return cases


def _load(path: Path | None, packaged: str) -> tuple[str, dict[str, Any]]:
    try:
        if path is None:
            text = (resources.files("agent.safety.eval") / packaged).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except OSError as error:
        raise LabelledSetError(f"cannot read {path or packaged}: {error}") from error
    except yaml.YAMLError as error:
        raise LabelledSetError(f"{path or packaged} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise LabelledSetError(f"{path or packaged}: expected a mapping at the top")
    return str(path or packaged), data


def _field(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind):
        raise LabelledSetError(f"{where}: {key!r} must be a {kind.__name__}, not {value!r}")
    return value
