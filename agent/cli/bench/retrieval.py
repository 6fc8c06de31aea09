"""``deskhand bench retrieval``: document retrieval quality, ours against a dense baseline.

Ours is the hybrid ``Retriever`` (dense + BM25, fused; the conversation's earlier
customer turns in the query) over structure-aware chunks. The baseline, measured in
the same run with the same embedding model, is dense-only search over fixed
1,000-character chunks, queried with the question alone. Both indexes live in a
temporary embedded Chroma that is deleted afterwards; nothing touches the data dir.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.common import errors, fail, friendly_errors

if TYPE_CHECKING:  # the knowledge package imports chromadb: only when the command runs
    from knowledge import Chunk, Document, KnowledgeStore, Passage

OURS = "bench-ours"
BASELINE = "bench-baseline"
BASELINE_CHUNK_CHARS = 1000
MRR_DEPTH = 10
_EMBED_BATCH = 64


@dataclass(frozen=True)
class Question:
    question: str
    history: list[dict[str, Any]]
    relevant: frozenset[str]


@dataclass
class Scores:
    """Per-question hits, reciprocal ranks and latencies of one system."""

    hits: list[bool]
    reciprocal_ranks: list[float]
    latencies_ms: list[float]

    @property
    def recall(self) -> float:
        return round(sum(self.hits) / max(len(self.hits), 1), 3)

    @property
    def mrr(self) -> float:
        return round(sum(self.reciprocal_ranks) / max(len(self.reciprocal_ranks), 1), 3)


def retrieval(
    corpus: Annotated[
        Path,
        typer.Option(
            "--corpus",
            help="Folder of documents to search, or a data set folder holding corpus/ and "
            "questions.jsonl (as ../shared/data/doc2dial-dev).",
        ),
    ],
    questions: Annotated[
        Path | None,
        typer.Option(
            "--questions",
            help='JSONL of {"question", "history", "relevant": [file names]} '
            "(default: questions.jsonl beside the corpus).",
        ),
    ] = None,
    first_turn_only: Annotated[
        bool, typer.Option("--first-turn-only", help="Only questions that open a dialogue.")
    ] = False,
    k: Annotated[
        int, typer.Option("--k", min=1, max=MRR_DEPTH, help="Recall cut-off, in documents.")
    ] = 5,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Evaluate the first N questions only.")
    ] = None,
) -> None:
    """Recall@k and MRR@10 of distinct documents, ours and the baseline, with our latency.

    Prints one JSON line: questions, recall_at_<k>, mrr_at_10, baseline_recall_at_<k>,
    baseline_mrr_at_10, p50_ms and p99_ms (our retrieval per question, query embedding
    included).
    """
    corpus, questions = data_set(corpus, questions)
    items = read_questions(questions, first_turn_only, limit)
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        result = _run(corpus, items, k, Path(tmp))
    typer.echo(json.dumps(result))


def data_set(corpus: Path, questions: Path | None) -> tuple[Path, Path]:
    """The documents folder and the questions file: given, or found in a data set folder."""
    documents = corpus / "corpus" if (corpus / "corpus").is_dir() else corpus
    if questions is None:
        questions = corpus / "questions.jsonl"
    if not documents.is_dir():
        raise typer.BadParameter(f"{documents} is not a folder", param_hint="--corpus")
    if not questions.is_file():
        raise typer.BadParameter(f"{questions} does not exist", param_hint="--questions")
    return documents, questions


def _run(corpus: Path, items: list[Question], k: int, tmp: Path) -> dict[str, Any]:
    from knowledge import KnowledgeConfig, KnowledgeStore, Retriever, load_folder

    loaded = load_folder(corpus)
    for source, reason in loaded.failures:
        errors.print(f"skipped {source}: {reason}", highlight=False)
    if not loaded.documents:
        fail(f"no documents could be loaded from {corpus}")
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp / "chroma"))
    _ingest_ours(store, loaded.documents)
    _ingest_baseline(store, loaded.documents)
    retriever = Retriever(store)
    _log(f"evaluating {len(items)} questions")

    def ours_search(item: Question, n: int) -> list[Passage]:
        return retriever.search(OURS, item.question, k=n, history=item.history).passages

    def baseline_search(item: Question, n: int) -> list[Passage]:
        return store.search(BASELINE, item.question, n)

    ours = evaluate(items, k, ours_search)
    baseline = evaluate(items, k, baseline_search)
    return {
        "questions": len(items),
        f"recall_at_{k}": ours.recall,
        f"mrr_at_{MRR_DEPTH}": ours.mrr,
        f"baseline_recall_at_{k}": baseline.recall,
        f"baseline_mrr_at_{MRR_DEPTH}": baseline.mrr,
        "p50_ms": percentile(ours.latencies_ms, 50),
        "p99_ms": percentile(ours.latencies_ms, 99),
    }


def read_questions(path: Path, first_turn_only: bool, limit: int | None) -> list[Question]:
    """The questions of a JSONL file; ``first_turn`` defaults to "has no history"."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror or error}")
    items: list[Question] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _record(path, number, line)
        history = list(record.get("history") or [])
        if first_turn_only and not record.get("first_turn", not history):
            continue
        items.append(Question(record["question"], history, frozenset(record["relevant"])))
        if limit is not None and len(items) >= limit:
            break
    if not items:
        fail(f"no questions to evaluate in {path}")
    return items


def _record(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        fail(f"{path}:{number}: not JSON: {error.msg}")
    if not isinstance(record, dict) or not _valid(record):
        fail(f'{path}:{number}: needs "question" (text) and "relevant" (a list of file names)')
    return record


def _valid(record: dict[str, Any]) -> bool:
    return (
        isinstance(record.get("question"), str)
        and isinstance(record.get("relevant"), list)
        and isinstance(record.get("history") or [], list)
    )


Search = Callable[[Question, int], "Sequence[Passage]"]


def evaluate(items: Sequence[Question], k: int, search: Search) -> Scores:
    """Hits in the first ``k`` distinct documents and reciprocal rank within the first 10."""
    scores = Scores([], [], [])
    for item in items:
        started = time.perf_counter()
        documents = ranked_documents(item, search, MRR_DEPTH)
        scores.latencies_ms.append((time.perf_counter() - started) * 1000)
        rank = next((i for i, doc in enumerate(documents, 1) if _relevant(doc, item)), None)
        scores.hits.append(rank is not None and rank <= k)
        scores.reciprocal_ranks.append(1 / rank if rank is not None else 0.0)
    return scores


def ranked_documents(item: Question, search: Search, depth: int) -> list[str]:
    """The first ``depth`` distinct documents, asking for more chunks until there are enough."""
    wanted = depth * 4
    while True:
        passages = search(item, wanted)
        documents = list(dict.fromkeys(passage.source for passage in passages))
        if len(documents) >= depth or len(passages) < wanted:
            return documents[:depth]
        wanted *= 2


def _relevant(source: str, item: Question) -> bool:
    return source in item.relevant or PurePosixPath(source).name in item.relevant


def percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return round(float(np.percentile(values, q)), 1) if values else 0.0


def _ingest_ours(store: KnowledgeStore, documents: list[Document]) -> None:
    _log(f"ours: chunking and embedding {len(documents)} documents")
    started = time.perf_counter()
    summary = store.sync_documents(OURS, documents)
    for source, reason in summary.failures:
        errors.print(f"not indexed {source}: {reason}", highlight=False)
    counts = store.stats(OURS)
    _log(f"ours: {counts['chunks']} chunks in {time.perf_counter() - started:.0f} s")


def _ingest_baseline(store: KnowledgeStore, documents: list[Document]) -> None:
    chunks = fixed_chunks(documents, BASELINE_CHUNK_CHARS)
    _log(f"baseline: embedding {len(chunks)} fixed {BASELINE_CHUNK_CHARS}-character chunks")
    started = time.perf_counter()
    for start in range(0, len(chunks), _EMBED_BATCH):
        batch = chunks[start : start + _EMBED_BATCH]
        vectors = store.embeddings.embed([chunk.text for chunk in batch])
        store.add_chunks(BASELINE, batch, vectors)
    _log(f"baseline: {len(chunks)} chunks in {time.perf_counter() - started:.0f} s")


def fixed_chunks(documents: Sequence[Document], size: int) -> list[Chunk]:
    """Each document's text cut every ``size`` characters, with no context added."""
    from knowledge import Chunk
    from knowledge.types import chunk_id

    chunks: list[Chunk] = []
    for document in documents:
        for position, start in enumerate(range(0, len(document.text), size)):
            text = document.text[start : start + size]
            chunk = Chunk(
                id="",
                text=text,
                title=document.title,
                heading_path=(),
                source=document.source,
                url=document.url,
                locale=document.locale,
                content_hash=document.content_hash,
                position=position,
            )
            chunks.append(replace(chunk, id=chunk_id(document.source, position, text)))
    return chunks


def _log(message: str) -> None:
    errors.print(f"[dim]bench:[/] {message}", highlight=False)
