"""Conversation files: what loads, and errors that name the file, the line and the key."""

from pathlib import Path

import pytest

from agent.replay.errors import ReplayFormatError
from agent.replay.loader import (
    conversation_files,
    load_cassette_file,
    load_conversations,
    load_file,
)


def write(tmp_path: Path, text: str, name: str = "conv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> ReplayFormatError:
    with pytest.raises(ReplayFormatError) as caught:
        load_file(path)
    return caught.value


def test_a_conversation_loads_with_its_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# a comment\nname: one\nturns:\n  - customer: hi\n  - operator: approve\n    text: ok\n",
    )
    (loaded,) = load_file(path)
    assert loaded.name == "one" and loaded.conversation.tenant == "demo"
    assert loaded.step_lines == (4, 5)
    assert loaded.conversation.turns[1].operator == "approve"
    assert loaded.cassette_path() == tmp_path / "cassettes" / "one.cassette.yaml"


def test_several_conversations_per_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: a\nturns: [{customer: hi}]\n---\nname: b\nturns: [{customer: yo}]\n"
    )
    assert [(c.name, c.line) for c in load_file(path)] == [("a", 1), ("b", 4)]


def test_an_unknown_key_names_file_line_key_and_a_hint(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: x\nturns:\n  - customer: hi\n    expect:\n      reply_matchs: a\n"
    )
    error = error_of(path)
    assert (error.line, error.key) == (5, "turns[0].expect.reply_matchs")
    assert str(error) == (
        f"{path}:5: turns[0].expect.reply_matchs: unknown key (did you mean 'reply_matches'?)"
    )


def test_an_unknown_key_inside_a_union_is_found(tmp_path: Path) -> None:
    text = (
        "name: x\nturns:\n  - customer: hi\n    expect:\n"
        "      tool_called: {name: a, argumentz: {}}\n"
    )
    error = error_of(write(tmp_path, text))
    assert (error.line, error.key) == (5, "turns[0].expect.tool_called.argumentz")


def test_a_missing_key(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "turns:\n  - customer: hi\n"))
    assert (error.line, error.key, error.problem) == (1, "name", "required key missing")


def test_a_bad_value_names_its_line(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nturns:\n  - operator: aprove\n"))
    assert (error.line, error.key) == (3, "turns[0].operator")
    assert "'approve'" in error.problem


def test_a_turn_needs_one_actor(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nturns:\n  - customer: hi\n    operator: deny\n"))
    assert (error.line, error.key) == (3, "turns[0]")
    assert "either 'customer' or 'operator'" in error.problem


def test_an_invalid_regex(tmp_path: Path) -> None:
    error = error_of(
        write(tmp_path, 'name: x\nturns:\n  - customer: hi\n    expect: {reply_matches: "(a"}\n')
    )
    assert error.key == "turns[0].expect.reply_matches"
    assert "not a valid regular expression" in error.problem


def test_a_bad_fixture_record(tmp_path: Path) -> None:
    text = (
        "name: x\nfixtures:\n  shop:\n    orders:\n      - id: BL-1\n        status: lost\n"
        "tursn: []\n"
    )
    error = error_of(write(tmp_path, text))
    assert error.key == "tursn" and error.line == 7  # the typo first: it explains the rest


def test_malformed_yaml(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nturns:\n  - customer: [hi\n"))
    assert error.line == 4 and "not valid YAML" in error.problem


def test_a_duplicate_key(tmp_path: Path) -> None:
    error = error_of(write(tmp_path, "name: x\nname: y\nturns: [{customer: hi}]\n"))
    assert (error.line, error.key, error.problem) == (2, "name", "duplicate key")


def test_not_a_mapping_and_an_empty_file(tmp_path: Path) -> None:
    assert "must be a mapping" in str(error_of(write(tmp_path, "- a\n")))
    assert "no conversation" in str(error_of(write(tmp_path, "# nothing\n", "empty.yaml")))


def test_inline_answers_and_a_cassette_exclude_each_other(tmp_path: Path) -> None:
    text = "name: x\ncassette: c.yaml\nturns:\n  - customer: hi\n    llm: [{content: a}]\n"
    assert "not both" in error_of(write(tmp_path, text)).problem


def test_names_are_unique_across_files(tmp_path: Path) -> None:
    write(tmp_path, "name: same\nturns: [{customer: a}]\n", "a.yaml")
    write(tmp_path, "name: same\nturns: [{customer: b}]\n", "b.yaml")
    with pytest.raises(ReplayFormatError, match=r"b\.yaml:1: name: 'same' is also at .*a\.yaml:1"):
        load_conversations([tmp_path])


def test_directories_skip_cassettes(tmp_path: Path) -> None:
    write(tmp_path, "name: a\nturns: [{customer: a}]\n", "a.yaml")
    (tmp_path / "cassettes").mkdir()
    write(tmp_path / "cassettes", "conversation: a\nturns: []\n", "a.cassette.yaml")
    assert conversation_files([tmp_path]) == [tmp_path / "a.yaml"]
    with pytest.raises(ReplayFormatError, match="no such file"):
        conversation_files([tmp_path / "missing.yaml"])


def test_a_cassette_file_is_validated_too(tmp_path: Path) -> None:
    path = write(
        tmp_path, "conversation: a\nturns:\n  - - content: hi\n      kye: 1\n", "a.cassette.yaml"
    )
    with pytest.raises(ReplayFormatError) as caught:
        load_cassette_file(path)
    assert (caught.value.line, caught.value.key) == (4, "turns[0][0].kye")
