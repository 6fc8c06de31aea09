"""``deskhand bench quote`` at a tiny size, and the arithmetic behind its JSON line.

The command test loads the embedding model (slow); no figure is asserted beyond sanity.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli.bench.quote import (
    Outcome,
    domain_of,
    lowest_reaching,
    point,
    split_questions,
    summarise,
)
from agent.cli.bench.retrieval import Question
from agent.cli.main import app
from knowledge import Document

DMV = {
    "renew-a-driver-license.md": "# Renew a driver license\n\nThe DMV renews a New York "
    "driver license online. A driver license expires after eight years; renew it up to one "
    "year before it expires.",
    "register-a-boat.md": "# Register a boat\n\nEvery boat used on New York waters must be "
    "registered with the DMV. Bring proof of ownership to a DMV office.",
    "road-test.md": "# Schedule a road test\n\nSchedule your road test with the DMV after "
    "you complete the pre-licensing course. Bring a supervising driver.",
}
SSA = {
    "retirement-benefits.md": "# Retirement benefits\n\nSocial Security retirement benefits "
    "start at 62. You can apply for Social Security benefits online.",
    "replace-a-card.md": "# Replace your Social Security card\n\nYou can replace your Social "
    "Security card for free. SSA needs proof of your identity.",
}
QUESTIONS = [
    ("how do I renew my driver license", "renew-a-driver-license.md"),
    ("how do I register my boat", "register-a-boat.md"),
    ("when can I take the road test", "road-test.md"),
    ("when do retirement benefits start", "retirement-benefits.md"),
    ("I lost my social security card", "replace-a-card.md"),
]
KEYS = {
    "in_scope",
    "out_of_scope",
    "threshold",
    "quote_precision",
    "quote_rate_in_scope",
    "escalation_rate_out_of_scope",
    "curve",
}


@pytest.fixture
def data_set(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in {**DMV, **SSA}.items():
        (corpus / name).write_text(text)
    lines = [
        json.dumps({"question": q, "history": [], "relevant": [doc], "first_turn": True})
        for q, doc in QUESTIONS
    ]
    lines.append(json.dumps({"question": "and then?", "history": [{}], "relevant": ["x.md"]}))
    (tmp_path / "questions.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.slow
def test_quote_bench_prints_one_json_line(data_set: Path) -> None:
    arguments = ["bench", "quote", "--corpus", str(data_set), "--target-precision", "0.5"]
    result = CliRunner().invoke(app, [*arguments, "--min-quotes", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    figures: dict[str, Any] = json.loads(lines[0])
    assert set(figures) == KEYS
    assert (figures["in_scope"], figures["out_of_scope"]) == (3, 2)
    assert len(figures["curve"]) == 21
    for threshold, precision, in_rate, out_rate in figures["curve"]:
        assert 0.0 <= threshold <= 1.0 and 0.0 <= in_rate <= 1.0 and 0.0 <= out_rate <= 1.0
        assert precision is None or 0.0 <= precision <= 1.0
    assert figures["curve"][0][2:] == [1.0, 1.0]  # at 0 everything is quoted
    if figures["threshold"] is not None:
        assert figures["quote_precision"] >= 0.5


def test_quote_bench_refuses_an_unknown_domain(data_set: Path) -> None:
    arguments = ["bench", "quote", "--corpus", str(data_set), "--in-domain", "irs"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "--in-domain" in result.output


def test_documents_are_assigned_to_a_domain_by_their_terms() -> None:
    for name, text in DMV.items():
        assert domain_of(Document(name, name, text)) == "dmv"
    for name, text in SSA.items():
        assert domain_of(Document(name, name, text)) == "ssa"


def test_questions_are_split_by_the_domain_of_their_documents() -> None:
    domains = {"a.md": "dmv", "b.md": "ssa", "c.md": "dmv"}
    items = [
        Question("renew?", [], frozenset({"a.md", "c.md"})),
        Question("retire?", [], frozenset({"b.md"})),
        Question("weather?", [], frozenset()),
        Question("unknown page?", [], frozenset({"z.md"})),
    ]
    in_scope, out_of_scope = split_questions(items, domains, "dmv")
    assert [q.question for q in in_scope] == ["renew?"]
    assert [q.question for q in out_of_scope] == ["retire?", "weather?"]
    everything = dict.fromkeys(domains, "all")
    in_scope, out_of_scope = split_questions(items, everything, "all")
    assert [q.question for q in in_scope] == ["renew?", "retire?"]
    assert [q.question for q in out_of_scope] == ["weather?"]


def test_precision_counts_every_quote_made() -> None:
    in_scope = [Outcome(0.9, True), Outcome(0.8, False), Outcome(0.5, True)]
    out_of_scope = [Outcome(0.6, False), Outcome(0.2, False)]
    at = point(in_scope, out_of_scope, 0.55)
    assert (at.quotes, at.precision) == (3, 1 / 3)
    assert (at.in_scope_rate, at.out_of_scope_rate) == (2 / 3, 0.5)
    assert point(in_scope, out_of_scope, 0.95).precision is None


def test_the_lowest_threshold_reaching_the_target_with_enough_quotes() -> None:
    in_scope = [Outcome(0.9, True), Outcome(0.8, False), Outcome(0.7, True), Outcome(0.65, True)]
    out_of_scope = [Outcome(0.6, False), Outcome(0.2, False)]
    figures = summarise(in_scope, out_of_scope, target=0.75)
    assert figures["threshold"] == 0.61  # 0.65, 0.7 and 0.9 right, 0.8 wrong: 3 of 4
    assert figures["quote_precision"] == 0.75
    assert figures["quote_rate_in_scope"] == 1.0
    assert figures["escalation_rate_out_of_scope"] == 1.0
    assert figures["curve"][0] == [0.0, 0.5, 1.0, 1.0]
    grid = [point(in_scope, out_of_scope, t / 100) for t in range(101)]
    assert lowest_reaching(grid, 0.99, min_quotes=1) is not None  # 0.9 alone: 1 of 1
    assert lowest_reaching(grid, 0.99, min_quotes=2) is None
    assert summarise(in_scope, out_of_scope, target=0.99, min_quotes=2)["threshold"] is None
