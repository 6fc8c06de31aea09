"""The benchmarks at a tiny size: each prints one JSON line with sane figures.

No timing is asserted: these only check that the commands run end to end.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.cli.main import app as main_app

DEMO_KB = Path(__file__).resolve().parents[3] / "agent" / "demo" / "kb"
ARTICLES = [
    "refunds.md",
    "cancelling-an-order.md",
    "account-and-password-reset.md",
    "warranty-on-electric-products.md",
    "tracking-your-order.md",
]
QUESTIONS = [
    {"question": "how long does a refund take", "history": [], "relevant": ["refunds.md"]},
    {"question": "can I cancel my order", "history": [], "relevant": ["cancelling-an-order.md"]},
    {
        "question": "I forgot my password",
        "history": [],
        "relevant": ["account-and-password-reset.md"],
        "first_turn": True,
    },
    {
        "question": "is that covered?",
        "history": [
            {"role": "user", "utterance": "my kettle stopped heating"},
            {"role": "agent", "utterance": "Sorry to hear that."},
        ],
        "relevant": ["warranty-on-electric-products.md"],
        "first_turn": False,
    },
    {"question": "where is my parcel", "history": [], "relevant": ["tracking-your-order.md"]},
]

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> typer.Typer:
    """The real ``deskhand`` command line: the benches run as ``deskhand bench ...``."""
    return main_app


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ARTICLES:
        shutil.copy(DEMO_KB / name, folder / name)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(item) + "\n" for item in QUESTIONS))
    return folder, questions


def _json_line(app: typer.Typer, arguments: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


def test_retrieval_bench_prints_one_json_line(app: typer.Typer, corpus: tuple[Path, Path]) -> None:
    folder, questions = corpus
    figures = _json_line(
        app, ["bench", "retrieval", "--corpus", str(folder), "--questions", str(questions)]
    )
    assert set(figures) == {
        "questions",
        "recall_at_5",
        "mrr_at_10",
        "baseline_recall_at_5",
        "baseline_mrr_at_10",
        "p50_ms",
        "p99_ms",
    }
    assert figures["questions"] == len(QUESTIONS)
    for name in ("recall_at_5", "mrr_at_10", "baseline_recall_at_5", "baseline_mrr_at_10"):
        assert 0.0 <= figures[name] <= 1.0, name
    assert figures["recall_at_5"] == 1.0  # five documents: each question's is among them
    assert 0.0 < figures["p50_ms"] <= figures["p99_ms"]


def test_retrieval_bench_filters_and_limits(app: typer.Typer, corpus: tuple[Path, Path]) -> None:
    folder, questions = corpus
    arguments = ["bench", "retrieval", "--corpus", str(folder), "--questions", str(questions)]
    arguments += ["--first-turn-only", "--limit", "2"]
    assert _json_line(app, arguments)["questions"] == 2


def test_retrieval_bench_refuses_a_bad_questions_file(
    app: typer.Typer, corpus: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, _ = corpus
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "no relevant list"}\n')
    result = CliRunner().invoke(
        app, ["bench", "retrieval", "--corpus", str(folder), "--questions", str(bad)]
    )
    assert result.exit_code == 1
    assert "bad.jsonl:1" in result.output


def test_search_bench_prints_one_json_line(app: typer.Typer) -> None:
    figures = _json_line(app, ["bench", "search", "--chunks", "500", "--queries", "20"])
    assert set(figures) == {"chunks", "p50_ms", "p99_ms", "rss_mb"}
    assert figures["chunks"] == 500
    assert 0.0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["rss_mb"] > 0
