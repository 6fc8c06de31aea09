"""Conversation files → validated conversations, with errors naming file, line and key.

PyYAML composes each document into nodes that carry their line; the loader keeps a map
from each key path (``turns[1].expect``) to its line, validates the plain data with the
format's strict models, and turns pydantic's error locations back into lines.
"""

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from agent.replay.errors import ReplayFormatError
from agent.replay.format import CassetteAnswer, Conversation, Strict, all_keys

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
CASSETTE_SUFFIX = ".cassette.yaml"


@dataclass(frozen=True)
class LoadedConversation:
    conversation: Conversation
    path: Path
    line: int
    step_lines: tuple[int, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.conversation.name

    def step_line(self, index: int) -> int:
        return self.step_lines[index] if index < len(self.step_lines) else self.line

    def cassette_path(self) -> Path:
        """Where this conversation's recorded cassette lives (``cassette:`` or the default)."""
        given = self.conversation.cassette
        if given is not None:
            return (self.path.parent / given).resolve()
        return self.path.parent / "cassettes" / f"{self.name}{CASSETTE_SUFFIX}"


class CassetteFile(Strict):
    """A recorded cassette: the model's answers, one list per turn of the conversation."""

    conversation: str
    turns: list[list[CassetteAnswer]]


def conversation_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the ``*.yaml``/``*.yml`` under the directories named (sorted),
    cassettes excluded."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.y*ml") if is_conversation_file(p))
        elif path.exists():
            found.append(path)
        else:
            raise ReplayFormatError(path, None, None, "no such file or directory")
    return found


def is_conversation_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not path.name.endswith(CASSETTE_SUFFIX)


def load_conversations(paths: Sequence[Path]) -> list[LoadedConversation]:
    loaded = [c for path in conversation_files(paths) for c in load_file(path)]
    seen: dict[str, LoadedConversation] = {}
    for item in loaded:
        first = seen.setdefault(item.name, item)
        if first is not item:
            where = f"{first.path}:{first.line}"
            raise ReplayFormatError(
                item.path, item.line, "name", f"{item.name!r} is also at {where}"
            )
    return loaded


def load_file(path: Path) -> list[LoadedConversation]:
    """Every conversation of a file (one per YAML document, ``---`` between them)."""
    result = []
    for data, lines, line in _documents(path):
        if not isinstance(data, dict):
            raise ReplayFormatError(path, line, None, "a conversation must be a mapping")
        conversation = _validate(Conversation, data, lines, path, line)
        step_lines = tuple(lines.get(("turns", i), line) for i in range(len(conversation.turns)))
        result.append(LoadedConversation(conversation, path, line, step_lines))
    if not result:
        raise ReplayFormatError(path, None, None, "no conversation in the file")
    return result


def load_cassette_file(path: Path) -> CassetteFile:
    documents = list(_documents(path))
    if len(documents) != 1 or not isinstance(documents[0][0], dict):
        raise ReplayFormatError(path, 1, None, "a cassette is one mapping (conversation, turns)")
    data, lines, line = documents[0]
    return _validate(CassetteFile, data, lines, path, line)


def _documents(path: Path) -> Iterator[tuple[Any, dict[Path_, int], int]]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReplayFormatError(path, None, None, f"cannot read: {error}") from None
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "malformed"
        raise ReplayFormatError(path, line, None, f"not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ReplayFormatError(path, None, None, f"not valid YAML: {error}") from None
    for node in nodes:
        lines: dict[Path_, int] = {}
        _walk(node, (), lines, path)
        yield SafeConstructor().construct_document(node), lines, node.start_mark.line + 1


def _walk(node: Node, at: Path_, lines: dict[Path_, int], path: Path) -> None:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            here = (*at, key)
            if key in seen:
                raise ReplayFormatError(
                    path, key_node.start_mark.line + 1, _dotted(here), "duplicate key"
                )
            seen.add(key)
            _walk(value_node, here, lines, path)
            lines[here] = key_node.start_mark.line + 1
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*at, index), lines, path)


def _validate(
    model: type[M], data: dict[str, Any], lines: dict[Path_, int], path: Path, line: int
) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _first_error(error, data, lines, path, line) from None


def _first_error(
    error: ValidationError, data: Any, lines: dict[Path_, int], path: Path, line: int
) -> ReplayFormatError:
    # Unknown keys first: a typo explains the other errors at the same place.
    details = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    detail = details[0]
    where = _data_path(data, tuple(detail["loc"]))
    key = _dotted(where) or None
    at = next((lines[where[:n]] for n in range(len(where), -1, -1) if where[:n] in lines), line)
    if detail["type"] == "extra_forbidden":
        return ReplayFormatError(path, at, key, _unknown(str(where[-1]) if where else "?"))
    if detail["type"] == "missing":
        return ReplayFormatError(path, at, key, "required key missing")
    message = str(detail["msg"]).removeprefix("Value error, ")
    return ReplayFormatError(path, at, key, message)


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """The error location as a path through the data; pydantic's union-member tags (which
    are not keys of the data) are dropped."""
    result: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            result.append(part)
            node = node[part]
        elif isinstance(part, str) and not isinstance(node, dict | list):
            continue
        elif isinstance(node, dict) and isinstance(part, str) and not _is_tag(part):
            result.append(part)  # a missing key: name it
            break
    return tuple(result)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


def _is_tag(part: str) -> bool:
    return (
        part[:1].isupper()
        or part in {"str", "bool", "list[str]", "int", "float", "dict"}
        or ("[" in part)
    )


def _unknown(key: str) -> str:
    hint = difflib.get_close_matches(key, sorted(all_keys()), n=1)
    return "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "")


def _dotted(at: Path_) -> str:
    text = ""
    for part in at:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
