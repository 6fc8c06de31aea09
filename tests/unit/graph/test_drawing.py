"""The drawing in docs/architecture.md is the graph the code builds."""

import re
from pathlib import Path

from typer.testing import CliRunner

from agent.cli.main import app

DOC = Path(__file__).resolve().parents[3] / "docs" / "architecture.md"


def test_docs_carry_the_current_graph() -> None:
    printed = CliRunner().invoke(app, ["graph"]).output.strip()
    documented = re.search(r"```mermaid\n(.*?)\n```", DOC.read_text(), re.DOTALL)
    assert documented is not None
    assert documented.group(1).strip() == printed, "run `deskhand graph` and update the docs"
