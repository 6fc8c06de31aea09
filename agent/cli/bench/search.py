"""``deskhand bench search``: latency of one hybrid query over many chunks, and peak memory.

The chunks are synthetic: deterministic text drawn from a made-up vocabulary with
word frequencies like a natural language's (Zipf), grouped into documents with
titles and headings. Embedding 100,000 chunks on a small CPU takes hours, so the
chunks get pseudo-random unit vectors, written through ``KnowledgeStore.add_chunks``;
every query is embedded by the real model, so its cost is part of each measure. BM25
reads the real synthetic text. Everything lives in a temporary embedded Chroma.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import tempfile
import time
from bisect import bisect_left
from dataclasses import replace
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.bench.retrieval import percentile
from agent.cli.common import errors, friendly_errors

if TYPE_CHECKING:
    from knowledge import Chunk, KnowledgeStore

TENANT = "bench-search"
SEED = 20240611
VOCABULARY = 20_000
CHUNKS_PER_DOCUMENT = 8
_WRITE_BATCH = 5000
_SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def search(
    chunks: Annotated[int, typer.Option("--chunks", min=1, help="Synthetic chunks to index.")] = (
        100_000
    ),
    queries: Annotated[int, typer.Option("--queries", min=1, help="Queries to time.")] = 200,
) -> None:
    """Time full hybrid queries (query embedding, dense, BM25, fusion) over synthetic chunks.

    Prints one JSON line: chunks, p50_ms, p99_ms and rss_mb (the peak resident memory
    of this process).
    """
    with friendly_errors(), tempfile.TemporaryDirectory(prefix="deskhand-bench-") as tmp:
        latencies = _run(chunks, queries, Path(tmp))
    result = {
        "chunks": chunks,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "rss_mb": peak_rss_mb(),
    }
    typer.echo(json.dumps(result))


def _run(count: int, queries: int, tmp: Path) -> list[float]:
    from knowledge import KnowledgeConfig, KnowledgeStore, Retriever

    rng = random.Random(SEED)
    words = Vocabulary(rng)
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp / "chroma"))
    started = time.perf_counter()
    dimension = len(store.embeddings.embed(["dimension probe"])[0])
    _log(f"embedding model loaded in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    _fill(store, words, rng, count, dimension)
    _log(f"{count} chunks written in {time.perf_counter() - started:.1f} s (random vectors)")
    retriever = Retriever(store)
    started = time.perf_counter()
    retriever.search(TENANT, "warm up")
    _log(f"BM25 index built in {time.perf_counter() - started:.1f} s")
    latencies: list[float] = []
    for _ in range(queries):
        query = " ".join(words.sample(rng, rng.randint(3, 9)))
        started = time.perf_counter()
        retriever.search(TENANT, query, k=4)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


class Vocabulary:
    """Made-up words, drawn with Zipf frequencies (the n-th word about 1/n as often)."""

    def __init__(self, rng: random.Random, size: int = VOCABULARY) -> None:
        words: dict[str, None] = {}
        while len(words) < size:
            words["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4)))] = None
        self.words = list(words)
        self._cumulative = list(accumulate(1 / rank for rank in range(1, size + 1)))

    def sample(self, rng: random.Random, count: int) -> list[str]:
        total = self._cumulative[-1]
        picks = (bisect_left(self._cumulative, rng.random() * total) for _ in range(count))
        return [self.words[min(index, len(self.words) - 1)] for index in picks]

    def sentence(self, rng: random.Random, low: int, high: int) -> str:
        return " ".join(self.sample(rng, rng.randint(low, high))).capitalize()


def synthetic_chunks(words: Vocabulary, rng: random.Random, first: int, count: int) -> list[Chunk]:
    """Chunks ``first`` to ``first + count - 1`` of documents of ``CHUNKS_PER_DOCUMENT``."""
    from knowledge import Chunk
    from knowledge.types import chunk_id

    chunks: list[Chunk] = []
    title = ""
    for position in range(first, first + count):
        number, part = divmod(position, CHUNKS_PER_DOCUMENT)
        if part == 0 or not title:
            title = words.sentence(rng, 2, 6)
        text = " ".join(words.sentence(rng, 6, 18) + "." for _ in range(rng.randint(3, 8)))
        chunk = Chunk(
            id="",
            text=text,
            title=title,
            heading_path=(words.sentence(rng, 1, 4),),
            source=f"doc-{number:06d}.md",
            url=None,
            locale="en",
            content_hash=f"{number:064x}",
            position=part,
        )
        chunks.append(replace(chunk, id=chunk_id(chunk.source, part, chunk.embedding_text)))
    return chunks


def _fill(
    store: KnowledgeStore, words: Vocabulary, rng: random.Random, count: int, dimension: int
) -> None:
    import numpy as np

    vectors = np.random.default_rng(SEED)
    for start in range(0, count, _WRITE_BATCH):
        batch = synthetic_chunks(words, rng, start, min(_WRITE_BATCH, count - start))
        matrix = vectors.standard_normal((len(batch), dimension)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        store.add_chunks(TENANT, batch, matrix)
        if start and start % 20_000 == 0:
            _log(f"{start} chunks written")


def peak_rss_mb() -> float:
    """The process's peak resident set size, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak: Any = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(float(peak) / divisor, 1)


def _log(message: str) -> None:
    errors.print(f"[dim]bench:[/] {message}", highlight=False)
