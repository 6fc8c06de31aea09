"""``deskhand bench ingest`` at a tiny size: one JSON line with sane values (no timing asserts)."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.bench.ingest import ROUND_CHUNKS, embedding_texts, write_articles
from agent.cli.main import app

FIELDS = {"chunks", "pipeline_chunks_per_s", "raw_encode_chunks_per_s", "ratio", "backend"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env or DESKHAND_* variable leaks in; data goes to a temporary folder."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_DATA_DIR", str(tmp_path / "data"))


def _bench(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["bench", "ingest", *args])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    parsed: dict[str, object] = json.loads(lines[0])
    return parsed


@pytest.mark.slow
def test_a_tiny_bench_prints_one_json_line_with_sane_values() -> None:
    result = _bench("--chunks", "50")

    assert set(result) == FIELDS
    assert result["chunks"] == 50
    assert result["backend"] == "torch"
    pipeline, raw, ratio = (
        float(str(result[name]))
        for name in ("pipeline_chunks_per_s", "raw_encode_chunks_per_s", "ratio")
    )
    assert pipeline > 0 and raw > 0
    assert ratio == pytest.approx(pipeline / raw, rel=0.02)


@pytest.mark.slow
def test_the_onnx_backend_can_be_benchmarked(tmp_path: Path) -> None:
    result = _bench("--chunks", "20", "--backend", "onnx")

    assert (result["chunks"], result["backend"]) == (20, "onnx")
    assert (tmp_path / "data" / "models" / "all-minilm-l6-v2" / "onnx" / "model.onnx").is_file()


def test_an_unknown_backend_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--backend", "tpu"])

    assert result.exit_code == 2
    assert "unknown backend 'tpu'" in result.stderr


@pytest.mark.parametrize("chunks", [1, 7, 8, 9, 50, 256, 300])
def test_the_synthetic_articles_make_exactly_the_chunks_asked(tmp_path: Path, chunks: int) -> None:
    rounds = write_articles(tmp_path / "articles", chunks)

    texts = [text for folder in rounds for text in embedding_texts(folder)]

    assert len(texts) == chunks
    assert len(set(texts)) == chunks
    assert len(rounds) == -(-chunks // ROUND_CHUNKS)


def test_the_synthetic_articles_are_deterministic(tmp_path: Path) -> None:
    one = write_articles(tmp_path / "one", 20)
    two = write_articles(tmp_path / "two", 20)

    assert embedding_texts(one[0]) == embedding_texts(two[0])
