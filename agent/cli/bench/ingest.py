"""``deskhand bench ingest``: the whole ingest pipeline against encoding alone.

Synthetic help-center articles (deterministic, seeded) are written as Markdown into
a temporary folder, sized so that chunking yields exactly the requested number of
chunks. The model is loaded and warmed up first. Then, round by round (folders of
about ``ROUND_CHUNKS`` chunks), the round's folder is ingested into a temporary
embedded Chroma (load, chunk, embed, write: the pipeline) and the same chunk texts
are encoded alone with the same model (the baseline), which one goes first
alternating. Other load on the machine thus weighs on both measures alike. The ratio
of the two says how much the pipeline adds to the model.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from agent.cli.common import errors, fail, friendly_errors, settings_or_exit
from knowledge.config import BACKENDS

if TYPE_CHECKING:
    from knowledge import KnowledgeStore
    from knowledge.config import EmbeddingBackend

TENANT = "bench-ingest"
SEED = 20240917
SECTIONS_PER_ARTICLE = 8
ROUND_CHUNKS = 256  # a round lasts seconds: shorter than the swings of a shared machine's load
PARAGRAPH_CHARS = (350, 750)  # target lengths of the one paragraph of each section
MAX_PARAGRAPH_CHARS = 790  # under the chunker's 800: one section, one chunk

_TOPICS = (
    "order", "refund", "parcel", "delivery", "invoice", "account", "password", "voucher",
    "subscription", "warranty", "return", "exchange", "payment", "card", "address", "courier",
    "discount", "gift card", "newsletter", "kettle", "lamp", "linen", "cookware", "receipt",
)  # fmt: skip
_VERBS = (
    "arrives", "is refunded", "can be cancelled", "is shipped", "is charged", "is updated",
    "is replaced", "is collected", "is confirmed", "can be tracked", "is delayed", "is reviewed",
)  # fmt: skip
_DETAILS = (
    "within five business days", "after we receive it", "from your account page",
    "once the courier scans it", "unless it was a final sale item", "at no extra cost",
    "when the payment clears", "by our support team", "in most European countries",
    "if you contact us within thirty days", "with the original packaging", "by email",
)  # fmt: skip


@dataclass(frozen=True)
class IngestBench:
    chunks: int
    pipeline_s: float
    raw_s: float


def ingest(
    chunks: Annotated[
        int, typer.Option("--chunks", min=1, help="Chunks the synthetic articles make.")
    ] = 2000,
    backend: Annotated[
        str, typer.Option("--backend", help="Embedding backend: torch, onnx or onnx-int8.")
    ] = "torch",
) -> None:
    """Time the ingest pipeline (load, chunk, embed, write) against encoding alone.

    Prints one JSON line: chunks, pipeline_chunks_per_s, raw_encode_chunks_per_s,
    ratio (pipeline / raw) and backend.
    """
    if backend not in BACKENDS:
        fail(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}", code=2)
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        result = _run(chunks, backend, Path(tmp))
    pipeline = result.chunks / result.pipeline_s
    raw = result.chunks / result.raw_s
    line = {
        "chunks": result.chunks,
        "pipeline_chunks_per_s": round(pipeline, 2),
        "raw_encode_chunks_per_s": round(raw, 2),
        "ratio": round(pipeline / raw, 3),
        "backend": backend,
    }
    typer.echo(json.dumps(line))


def _run(count: int, backend: str, tmp: Path) -> IngestBench:
    rounds = write_articles(tmp / "articles", count)
    texts = [embedding_texts(folder) for folder in rounds]
    made = sum(len(part) for part in texts)
    if made != count:
        fail(f"the synthetic articles make {made} chunks, not {count}")
    store = _open_store(tmp / "chroma", backend)
    started = time.perf_counter()
    store.embeddings.embed(texts[0][: store.config.batch_size])  # load and warm up the model
    _log(f"{backend} model loaded and warmed up in {time.perf_counter() - started:.1f} s")
    pipeline_s = raw_s = 0.0
    for number, (folder, part) in enumerate(zip(rounds, texts, strict=True)):
        if number % 2:
            pipeline_s += _ingest(store, folder)
            raw_s += _encode_alone(store, part)
        else:
            raw_s += _encode_alone(store, part)
            pipeline_s += _ingest(store, folder)
    _log(f"encoded {count} chunks alone in {raw_s:.1f} s, ingested them in {pipeline_s:.1f} s")
    _check(store, count)
    return IngestBench(count, pipeline_s, raw_s)


def _ingest(store: KnowledgeStore, folder: Path) -> float:
    """Seconds to ingest ``folder``; fails the bench if any document fails."""
    from knowledge.ingest import ingest_path

    started = time.perf_counter()
    report = ingest_path(store, TENANT, folder)
    seconds = time.perf_counter() - started
    if report.failed:
        fail(f"{report.failed} synthetic documents failed to ingest: {report.all_failures[0]}")
    return seconds


def _encode_alone(store: KnowledgeStore, texts: list[str]) -> float:
    """Seconds to encode ``texts`` in one call (the model sorts them by length itself)."""
    started = time.perf_counter()
    store.embeddings.embed(texts)
    return time.perf_counter() - started


def _open_store(persist_dir: Path, backend: str) -> KnowledgeStore:
    """A temporary embedded store with the configured model, device and models folder."""
    from agent.config.derived import knowledge_config
    from knowledge import KnowledgeStore

    config = knowledge_config(settings_or_exit())
    chosen = cast("EmbeddingBackend", backend)  # checked against BACKENDS by the command
    return KnowledgeStore.open(
        replace(config, persist_dir=persist_dir, chroma_url=None, backend=chosen)
    )


def _check(store: KnowledgeStore, count: int) -> None:
    stored = store.stats(TENANT)["chunks"]
    if stored != count:
        fail(f"the ingest stored {stored} of {count} chunks")


def write_articles(folder: Path, chunks: int, seed: int = SEED) -> list[Path]:
    """Markdown articles of ``SECTIONS_PER_ARTICLE`` sections (one chunk each), in rounds.

    Returns the rounds' folders, each holding articles of about ``ROUND_CHUNKS`` chunks.
    """
    rng = random.Random(seed)
    per_round = ROUND_CHUNKS // SECTIONS_PER_ARTICLE
    rounds: list[Path] = []
    for number in range(math.ceil(chunks / SECTIONS_PER_ARTICLE)):
        if number % per_round == 0:
            rounds.append(folder / f"round-{len(rounds):03d}")
            rounds[-1].mkdir(parents=True)
        sections = min(SECTIONS_PER_ARTICLE, chunks - number * SECTIONS_PER_ARTICLE)
        article = rounds[-1] / f"article-{number:05d}.md"
        article.write_text(_article(rng, number, sections), encoding="utf-8")
    return rounds


def embedding_texts(folder: Path) -> list[str]:
    """What the ingest embeds for the folder: the same loader and chunker."""
    from knowledge.chunking import chunk_document
    from knowledge.loaders import load_path

    documents = load_path(folder).documents
    return [chunk.embedding_text for doc in documents for chunk in chunk_document(doc)]


def _article(rng: random.Random, number: int, sections: int) -> str:
    title = f"{rng.choice(_TOPICS).capitalize()} help {number}"
    url = f"https://help.example.com/articles/{number}"
    parts = [f"---\ntitle: {title}\nurl: {url}\n---\n"]
    for _ in range(sections):
        heading = f"How the {rng.choice(_TOPICS)} {rng.choice(_VERBS)}"
        parts.append(f"## {heading}\n\n{_paragraph(rng)}\n")
    return "\n".join(parts)


def _paragraph(rng: random.Random) -> str:
    """Sentences up to about a random target length, never over ``MAX_PARAGRAPH_CHARS``."""
    target = rng.randint(*PARAGRAPH_CHARS)
    text = _sentence(rng)
    while len(text) < target:
        longer = f"{text} {_sentence(rng)}"
        if len(longer) > MAX_PARAGRAPH_CHARS:
            break
        text = longer
    return text


def _sentence(rng: random.Random) -> str:
    return (
        f"Your {rng.choice(_TOPICS)} {rng.choice(_VERBS)} {rng.choice(_DETAILS)}, "
        f"and the {rng.choice(_TOPICS)} {rng.choice(_VERBS)} {rng.choice(_DETAILS)}."
    )


def _log(message: str) -> None:
    errors.print(f"[dim]bench:[/] {message}", highlight=False)
