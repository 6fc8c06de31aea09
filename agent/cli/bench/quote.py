"""``deskhand bench quote``: calibrate the confidence a degraded-path quote needs.

Without a model the agent quotes the best knowledge-base passage when retrieval's
confidence reaches the bot file's ``retrieval.min_score``, and escalates otherwise. A
quote that does not answer is worse than an escalation, so the threshold is set for
precision. This bench indexes ONE domain of a labelled data set (the help center), asks
it that domain's first-turn questions (in scope: a quote is correct when the first
passage's document is one of the question's ``relevant`` files) and the other domains'
first-turn questions (out of scope: any quote is wrong), and sweeps the threshold.

Domains. doc2dial's file names do not say which site a page is from, so each document
is assigned by content: to the domain whose marker terms (``DOMAIN_TERMS``) it mentions
most often (the first listed domain on a tie); a question belongs to the domain of its
relevant documents. On doc2dial-dev this puts 51 pages under ``dmv`` and 77 under
``ssa``, which agrees with every page's title. For a tenant's own help center,
``--in-domain all`` indexes every document, and the questions with ``"relevant": []``
are the out-of-scope ones.

The index lives in a temporary embedded Chroma (the packaged all-MiniLM-L6-v2, no
reranker: the retriever's confidence is then the best cosine similarity, raised when
dense and BM25 search agree), deleted afterwards. One JSON line on stdout; progress on
stderr.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.bench.retrieval import Question, data_set, read_questions
from agent.cli.common import errors, fail, friendly_errors

if TYPE_CHECKING:  # the knowledge package imports chromadb: only when the command runs
    from knowledge import Document

TENANT = "bench-quote"
ALL = "all"  # every document is the help center; out of scope: questions with no relevant one
DEFAULT_CORPUS = Path("../shared/data/doc2dial-dev")
DOMAIN_TERMS: dict[str, tuple[str, ...]] = {
    "dmv": ("dmv", "motor vehicle", "new york", "nys", "driver"),
    "ssa": ("social security", "medicare", "ssa", "ssi"),
}
CURVE_STEP = 0.05
GRID = 100  # the threshold is searched in steps of 1 / GRID


@dataclass(frozen=True)
class Outcome:
    """One question's retrieval: the confidence, and whether quoting would answer it."""

    confidence: float
    correct: bool


@dataclass(frozen=True)
class Point:
    threshold: float
    quotes: int
    precision: float | None  # None: nothing quoted at this threshold
    in_scope_rate: float
    out_of_scope_rate: float


def quote(
    corpus: Annotated[
        Path,
        typer.Option(
            "--corpus",
            help="A data set folder holding corpus/ and questions.jsonl, or a documents folder.",
        ),
    ] = DEFAULT_CORPUS,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="Questions JSONL (default: beside the corpus)."),
    ] = None,
    in_domain: Annotated[
        str,
        typer.Option(
            "--in-domain",
            help=f"The help center: {', '.join(DOMAIN_TERMS)} (doc2dial's sites), or "
            f"{ALL} (every document; questions with no relevant file are out of scope).",
        ),
    ] = "dmv",
    target_precision: Annotated[
        float,
        typer.Option("--target-precision", min=0.0, max=1.0, help="Precision to reach."),
    ] = 0.9,
    max_questions: Annotated[
        int,
        typer.Option("--max-questions", min=1, help="At most this many questions per side."),
    ] = 200,
    min_quotes: Annotated[
        int,
        typer.Option("--min-quotes", min=1, help="Fewest quotes a threshold's precision needs."),
    ] = 20,
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Passages retrieved.")] = 4,
) -> None:
    """Quote precision against the confidence threshold, and the lowest threshold that
    reaches ``--target-precision`` (with at least ``--min-quotes`` quotes made; null
    when none does).

    Prints one JSON line: in_scope, out_of_scope (question counts), threshold,
    quote_precision, quote_rate_in_scope, escalation_rate_out_of_scope (at that
    threshold) and curve: [[threshold, precision, in-scope quote rate, out-of-scope
    quote rate], ...] every 0.05.
    """
    if in_domain not in (*DOMAIN_TERMS, ALL):
        choices = ", ".join((*DOMAIN_TERMS, ALL))
        raise typer.BadParameter(f"one of {choices}", param_hint="--in-domain")
    documents_dir, questions_file = data_set(corpus, questions)
    items = read_questions(questions_file, first_turn_only=True, limit=None)
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        result = _run(documents_dir, items, in_domain, max_questions, k, Path(tmp))
    typer.echo(json.dumps(summarise(*result, target_precision, min_quotes)))


def domain_of(document: Document) -> str:
    """The domain whose marker terms the document's title and text mention most."""
    text = f"{document.title}\n{document.text}".casefold()
    counts = {
        domain: sum(len(re.findall(rf"\b{re.escape(term)}\b", text)) for term in terms)
        for domain, terms in DOMAIN_TERMS.items()
    }
    return max(counts, key=lambda domain: counts[domain])


def question_domain(item: Question, domains: dict[str, str]) -> str | None:
    """The domain of the question's relevant documents (None when none was loaded)."""
    found = [domains[name] for name in item.relevant if name in domains]
    return max(set(found), key=found.count) if found else None


def split_questions(
    items: list[Question], domains: dict[str, str], in_domain: str
) -> tuple[list[Question], list[Question]]:
    """In scope: questions about the domain's documents. Out of scope: questions about
    other domains' documents, and questions with no relevant document (``"relevant": []``).
    A question whose relevant documents were not loaded is left out."""
    in_scope: list[Question] = []
    out_of_scope: list[Question] = []
    for item in items:
        domain = question_domain(item, domains)
        if domain == in_domain:
            in_scope.append(item)
        elif domain is not None or not item.relevant:
            out_of_scope.append(item)
    return in_scope, out_of_scope


def _domain(document: Document, in_domain: str) -> str:
    return ALL if in_domain == ALL else domain_of(document)


def _run(
    documents_dir: Path,
    items: list[Question],
    in_domain: str,
    max_questions: int,
    k: int,
    tmp: Path,
) -> tuple[list[Outcome], list[Outcome]]:
    from knowledge import KnowledgeConfig, KnowledgeStore, Retriever, load_folder

    loaded = load_folder(documents_dir)
    domains = {_file_name(doc.source): _domain(doc, in_domain) for doc in loaded.documents}
    indexed = [doc for doc in loaded.documents if domains[_file_name(doc.source)] == in_domain]
    if not indexed:
        fail(f"no document of domain {in_domain!r} in {documents_dir}")
    in_scope, out_of_scope = split_questions(items, domains, in_domain)
    in_scope, out_of_scope = in_scope[:max_questions], out_of_scope[:max_questions]
    if not in_scope or not out_of_scope:
        fail("the bench needs first-turn questions both in and out of the help center")
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp / "chroma"))
    _log(f"indexing {len(indexed)} {in_domain} documents of {len(loaded.documents)}")
    store.sync_documents(TENANT, indexed)
    retriever = Retriever(store)
    _log(f"asking {len(in_scope)} in-scope and {len(out_of_scope)} out-of-scope questions")

    def outcome(item: Question, in_scope: bool) -> Outcome:
        result = retriever.search(TENANT, item.question, k=k)
        top = result.passages[0].source if result.passages else None
        correct = in_scope and top is not None and _file_name(top) in item.relevant
        return Outcome(result.confidence, correct)

    return (
        [outcome(item, True) for item in in_scope],
        [outcome(item, False) for item in out_of_scope],
    )


def summarise(
    in_scope: Sequence[Outcome],
    out_of_scope: Sequence[Outcome],
    target: float,
    min_quotes: int = 1,
) -> dict[str, Any]:
    """The bench's JSON: the chosen threshold, its figures and the curve."""
    grid = [point(in_scope, out_of_scope, step / GRID) for step in range(GRID + 1)]
    chosen = lowest_reaching(grid, target, min_quotes)
    every = round(CURVE_STEP * GRID)
    curve = [_row(p) for i, p in enumerate(grid) if i % every == 0]
    return {
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "threshold": chosen.threshold if chosen else None,
        "quote_precision": _rounded(chosen.precision) if chosen else None,
        "quote_rate_in_scope": round(chosen.in_scope_rate, 3) if chosen else None,
        "escalation_rate_out_of_scope": round(1 - chosen.out_of_scope_rate, 3) if chosen else None,
        "curve": curve,
    }


def point(in_scope: Sequence[Outcome], out_of_scope: Sequence[Outcome], threshold: float) -> Point:
    """What quoting at ``threshold`` does: precision over every quote made, and the rates."""
    threshold = round(threshold, 4)
    quoted_in = [o for o in in_scope if o.confidence >= threshold]
    quoted_out = [o for o in out_of_scope if o.confidence >= threshold]
    quotes = len(quoted_in) + len(quoted_out)
    correct = sum(o.correct for o in quoted_in)
    return Point(
        threshold=threshold,
        quotes=quotes,
        precision=correct / quotes if quotes else None,
        in_scope_rate=len(quoted_in) / max(len(in_scope), 1),
        out_of_scope_rate=len(quoted_out) / max(len(out_of_scope), 1),
    )


def lowest_reaching(grid: Sequence[Point], target: float, min_quotes: int = 1) -> Point | None:
    """The lowest threshold whose quotes (``min_quotes`` at least, so that a handful of
    lucky ones do not count) reach ``target`` precision; None when none does."""
    return next(
        (
            p
            for p in grid
            if p.quotes >= min_quotes and p.precision is not None and p.precision >= target
        ),
        None,
    )


def _row(p: Point) -> list[float | None]:
    return [
        round(p.threshold, 2),
        _rounded(p.precision),
        round(p.in_scope_rate, 3),
        round(p.out_of_scope_rate, 3),
    ]


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _file_name(source: str) -> str:
    return source.rsplit("/", 1)[-1]


def _log(message: str) -> None:
    errors.print(f"[dim]bench:[/] {message}", highlight=False)
