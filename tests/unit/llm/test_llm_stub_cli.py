"""The ``deskhand llm-stub`` command's choice of responder."""

from pathlib import Path

import pytest
import typer

from agent.cli.llm_stub import _responder
from agent.llm.stub import Script


def test_script_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    path.write_text("- content: hello\n")
    responder = _responder(path, None)
    assert isinstance(responder, Script)
    assert responder({}).content == "hello"


def test_script_and_cassette_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("[]\n")
    with pytest.raises(typer.BadParameter, match="not both"):
        _responder(path, path)


def test_unreadable_cassette_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cassette.yaml"
    path.write_text("entries: [{key: 1}]\n")
    with pytest.raises(typer.BadParameter, match=r"cassette\.yaml: invalid cassette"):
        _responder(None, path)
