"""The knowledge store against real embedded Chroma and the real embedding model.

Run with ``-s`` to see the scores of in-domain and out-of-domain questions, the
numbers the retrieval confidence threshold is chosen from.
"""

import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import chromadb
import pytest
from chromadb.api.types import DefaultEmbeddingFunction, Documents, Embeddings
from chromadb.config import Settings

from knowledge import (
    Document,
    IngestReport,
    KnowledgeConfig,
    KnowledgeStore,
    KnowledgeUnavailable,
    SentenceTransformerEmbeddings,
    ingest_path,
)
from knowledge.embeddings import EMBEDDING_FUNCTION_NAME
from knowledge.types import HEADING_SEPARATOR as SEP
from tests.support.chroma_server import chroma_executable, running_chroma
from tests.support.knowledge_store import record_embedded

DEMO_KB = Path(__file__).resolve().parents[3] / "agent" / "demo" / "kb"
TENANT = "demo"

IN_DOMAIN = {
    "how long does a refund take": "refunds.md",
    "can I cancel my order": "cancelling-an-order.md",
    "where is my parcel": "tracking-your-order.md",
    "I forgot my password": "account-and-password-reset.md",
    "my lamp arrived broken": "damaged-or-wrong-items.md",
    "how much is express shipping": "shipping-times-and-costs.md",
    "do I have to pay customs duties in the UK": "international-shipping-duties-and-customs.md",
    "is my kettle under warranty": "warranty-on-electric-products.md",
}
OUT_OF_DOMAIN = [
    "what is the capital of France",
    "write me a poem about the sea",
    "who won the football world cup in 2018",
    "explain quantum entanglement",
]


@dataclass
class DemoStore:
    store: KnowledgeStore
    config: KnowledgeConfig
    report: IngestReport
    seconds: float


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbeddings:
    """Load the embedding model once for the module; stores share the loaded model."""
    embeddings = SentenceTransformerEmbeddings()
    started = time.perf_counter()
    embeddings.warm_up()
    print(f"\nmodel load: {time.perf_counter() - started:.2f} s")
    return embeddings


@pytest.fixture(scope="module")
def demo(
    model: SentenceTransformerEmbeddings, tmp_path_factory: pytest.TempPathFactory
) -> DemoStore:
    """The demo articles, ingested once into a store the read-only tests share."""
    config = KnowledgeConfig(persist_dir=tmp_path_factory.mktemp("demo") / "chroma")
    store = KnowledgeStore.open(config)
    started = time.perf_counter()
    report = ingest_path(store, TENANT, DEMO_KB)
    seconds = time.perf_counter() - started
    print(f"\ningest of the demo articles: {seconds:.2f} s, {store.stats(TENANT)}")
    return DemoStore(store, config, report, seconds)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three small articles in a folder of their own."""
    kb = tmp_path / "kb"
    kb.mkdir()
    _write(kb, "opening-hours", "## Weekdays\n\nThe shop is open from nine to six on weekdays.")
    _write(kb, "vouchers", "## Using a voucher\n\nEnter the voucher code at checkout.")
    _write(kb, "pets", "## Pets in the showroom\n\nDogs on a leash are welcome in our showroom.")
    return kb


@pytest.fixture
def store(model: SentenceTransformerEmbeddings, tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path / "chroma"))


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real Chroma server (``chroma run``) on a free port, stopped afterwards."""
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed next to this Python")
    with running_chroma(tmp_path / "server") as server:
        yield server.url, server.process


def _write(folder: Path, slug: str, body: str) -> None:
    front = f"---\ntitle: {slug.replace('-', ' ').capitalize()}\nurl: https://x/{slug}\n---\n\n"
    (folder / f"{slug}.md").write_text(front + body)


@pytest.mark.slow
def test_the_demo_articles_ingest(demo: DemoStore) -> None:
    summary = demo.report.summary
    assert (summary.added, summary.updated, summary.unchanged, summary.removed) == (38, 0, 0, 0)
    assert demo.report.failed == 0
    stats = demo.store.stats(TENANT)
    assert stats["documents"] == 38
    assert stats["chunks"] >= 3 * 38  # every article has several sections


@pytest.mark.slow
def test_a_refund_question_finds_the_refunds_article_first(demo: DemoStore) -> None:
    started = time.perf_counter()
    passages = demo.store.search(TENANT, "how long does a refund take", k=4)
    print(f"\none query: {(time.perf_counter() - started) * 1000:.1f} ms")

    best = passages[0]
    assert best.source == "refunds.md"
    assert best.title == "Refunds"
    assert best.heading == "How long does a refund take?"
    assert best.url == "https://help.brightleaf.example/articles/refunds"
    assert "5\u20137 business days" in best.text  # an en dash, as written
    assert best.score > 0.45
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert len(passages) == 4


@pytest.mark.slow
def test_in_domain_questions_score_well_above_out_of_domain_ones(demo: DemoStore) -> None:
    in_scores: list[float] = []
    print()
    for question, source in IN_DOMAIN.items():
        best = demo.store.search(TENANT, question, k=1)[0]
        print(f"in   {best.score:.3f}  {question!r} -> {best.source}{SEP}{best.heading}")
        assert best.source == source, question
        in_scores.append(best.score)
    out_scores: list[float] = []
    for question in OUT_OF_DOMAIN:
        best = demo.store.search(TENANT, question, k=1)[0]
        print(f"out  {best.score:.3f}  {question!r} -> {best.source}{SEP}{best.heading}")
        out_scores.append(best.score)

    assert min(in_scores) > 0.45
    assert max(out_scores) < 0.3
    assert min(in_scores) - max(out_scores) > 0.15


@pytest.mark.slow
def test_a_second_sync_changes_nothing_and_loads_no_model(demo: DemoStore) -> None:
    fresh = KnowledgeStore.open(demo.config)

    report = ingest_path(fresh, TENANT, DEMO_KB)

    summary = report.summary
    assert (summary.added, summary.updated, summary.unchanged, summary.removed) == (0, 0, 38, 0)
    assert report.failed == 0
    assert fresh.embeddings.is_loaded is False
    assert fresh.stats(TENANT) == demo.store.stats(TENANT)


@pytest.mark.slow
def test_editing_one_document_re_embeds_only_it(
    store: KnowledgeStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_path(store, TENANT, folder)
    old = store.search(TENANT, "when is the shop open", k=1)[0]
    _write(
        folder,
        "opening-hours",
        "## Weekdays\n\nThe shop is open from ten to five.\n\n## Sundays\n\nClosed on Sundays.",
    )
    embedded = record_embedded(store, monkeypatch)

    summary = ingest_path(store, TENANT, folder).summary

    assert (summary.added, summary.updated, summary.unchanged) == (0, 1, 2)
    assert len(embedded) == 2
    assert all(text.startswith(f"Opening hours{SEP}") for text in embedded)
    assert store.stats(TENANT) == {"documents": 3, "chunks": 4}
    passages = store.search(TENANT, "when is the shop open", k=4)
    opening = [p for p in passages if p.source == "opening-hours.md"]
    assert {p.text for p in opening} == {"The shop is open from ten to five.", "Closed on Sundays."}
    assert old.chunk_id not in {p.chunk_id for p in passages}


@pytest.mark.slow
def test_delete_missing_removes_sources_that_are_gone(store: KnowledgeStore, folder: Path) -> None:
    ingest_path(store, TENANT, folder)
    (folder / "pets.md").unlink()

    kept = ingest_path(store, TENANT, folder).summary
    assert kept.removed == 0
    assert store.stats(TENANT)["documents"] == 3

    pruned = ingest_path(store, TENANT, folder, delete_missing=True).summary
    assert (pruned.removed, pruned.unchanged) == (1, 2)
    assert store.stats(TENANT) == {"documents": 2, "chunks": 2}
    sources = {p.source for p in store.search(TENANT, "can I bring my dog", k=10)}
    assert sources == {"opening-hours.md", "vouchers.md"}


@pytest.mark.slow
def test_an_unreadable_file_is_reported_and_the_others_ingested(
    store: KnowledgeStore, folder: Path
) -> None:
    (folder / "legacy.txt").write_bytes("Caf\xe9 opening times".encode("latin-1"))

    report = ingest_path(store, TENANT, folder)

    assert report.summary.added == 3
    assert [source for source, _ in report.failures] == ["legacy.txt"]
    assert "UTF-8" in report.failures[0][1]
    assert report.failed == 1
    assert store.stats(TENANT)["documents"] == 3


@pytest.mark.slow
def test_a_file_that_fails_to_load_keeps_its_chunks_under_delete_missing(
    store: KnowledgeStore, folder: Path
) -> None:
    ingest_path(store, TENANT, folder)
    (folder / "vouchers.md").write_bytes(b"\xff\xfe broken now")

    report = ingest_path(store, TENANT, folder, delete_missing=True)

    assert report.summary.removed == 0 and report.deletions_skipped
    assert [source for source, _ in report.failures] == ["vouchers.md"]
    assert store.stats(TENANT)["documents"] == 3


@pytest.mark.slow
def test_a_failed_file_stops_every_deletion_not_only_its_own(
    store: KnowledgeStore, folder: Path
) -> None:
    """A Zendesk export that fails to load must not take its articles with it."""
    ingest_path(store, TENANT, folder)
    removed = sorted(folder.iterdir())[0]
    removed.unlink()
    (folder / "vouchers.md").write_bytes(b"\xff\xfe broken now")

    skipped = ingest_path(store, TENANT, folder, delete_missing=True)
    assert skipped.summary.removed == 0 and skipped.deletions_skipped

    (folder / "vouchers.md").write_text("# Vouchers\n\nFixed again.")
    pruned = ingest_path(store, TENANT, folder, delete_missing=True)
    assert pruned.summary.removed == 1 and not pruned.deletions_skipped


@pytest.mark.slow
def test_chromas_default_embedding_function_is_never_used(
    store: KnowledgeStore, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(self: DefaultEmbeddingFunction, input: Documents) -> Embeddings:
        raise AssertionError("Chroma's default embedding function was called")

    monkeypatch.setattr(DefaultEmbeddingFunction, "__call__", forbidden)

    ingest_path(store, TENANT, folder)
    passages = store.search(TENANT, "voucher code", k=1)

    assert passages[0].source == "vouchers.md"
    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=Settings(anonymized_telemetry=False)
    )
    # Even a client that names no embedding function gets ours, rebuilt from the config.
    collection = client.get_collection(store.collection_name(TENANT))
    assert isinstance(collection.configuration["embedding_function"], SentenceTransformerEmbeddings)
    assert collection.configuration_json["embedding_function"]["name"] == EMBEDDING_FUNCTION_NAME
    assert collection.configuration_json["hnsw"]["space"] == "cosine"
    found = collection.query(query_texts=["voucher code"], n_results=1)
    assert found["ids"][0] == [passages[0].chunk_id]


@pytest.mark.slow
def test_concurrent_searches_agree(demo: DemoStore) -> None:
    questions = list(IN_DOMAIN) * 3

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda q: demo.store.search(TENANT, q, k=2), questions))

    for question, passages in zip(questions, results, strict=True):
        assert passages[0].source == IN_DOMAIN[question]


@pytest.mark.slow
def test_search_can_be_limited_to_a_locale(store: KnowledgeStore) -> None:
    store.sync_documents(
        TENANT,
        [
            Document(source="en.md", title="Returns", text="Return within 30 days.", locale="en"),
            Document(source="de.md", title="Rückgabe", text="Rückgabe in 30 Tagen.", locale="de"),
        ],
    )

    german = store.search(TENANT, "return", k=5, locale="de")

    assert [(p.source, p.locale) for p in german] == [("de.md", "de")]
    assert len(store.search(TENANT, "return", k=5)) == 2


def test_a_tenant_without_a_collection_has_nothing_and_loads_no_model(tmp_path: Path) -> None:
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path / "chroma"))

    assert store.search("nobody", "how long does a refund take") == []
    assert store.stats("nobody") == {"chunks": 0, "documents": 0}
    assert store.collection_name("nobody") == "nobody__all-minilm-l6-v2"
    assert store.embeddings.is_loaded is False
    store.ping()


def test_an_unreachable_server_is_unavailable_quickly(tmp_path: Path) -> None:
    config = KnowledgeConfig(persist_dir=tmp_path, chroma_url="http://127.0.0.1:9", timeout_s=2.0)
    started = time.perf_counter()

    with pytest.raises(KnowledgeUnavailable, match="does not answer"):
        KnowledgeStore.open(config)

    assert time.perf_counter() - started < 5


@pytest.mark.slow
def test_a_chroma_server_is_used_over_http(
    model: SentenceTransformerEmbeddings,
    chroma_server: tuple[str, "subprocess.Popen[bytes]"],
    folder: Path,
    tmp_path: Path,
) -> None:
    url, server = chroma_server
    config = KnowledgeConfig(persist_dir=tmp_path / "unused", chroma_url=url, timeout_s=3.0)
    store = KnowledgeStore.open(config)

    assert ingest_path(store, TENANT, folder).summary.added == 3
    assert store.search(TENANT, "voucher code", k=1)[0].source == "vouchers.md"
    again = ingest_path(KnowledgeStore.open(config), TENANT, folder).summary
    assert again.unchanged == 3
    assert not (tmp_path / "unused").exists()

    server.terminate()
    server.wait(timeout=10)
    with pytest.raises(KnowledgeUnavailable):
        store.search(TENANT, "voucher code")
    with pytest.raises(KnowledgeUnavailable):
        store.ping()


@pytest.mark.slow
def test_progress_counts_the_chunks_embedded(store: KnowledgeStore, folder: Path) -> None:
    calls: list[tuple[int, int]] = []

    ingest_path(store, TENANT, folder, progress=lambda done, total: calls.append((done, total)))
    ingest_path(store, TENANT, folder, progress=lambda done, total: calls.append((done, total)))

    assert calls[0] == (0, 3)
    assert calls[-2] == (3, 3)
    assert calls[-1] == (0, 0)  # the second run has nothing to embed


@pytest.mark.slow
def test_chunks_of_an_older_schema_version_are_re_embedded(
    store: KnowledgeStore, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_path(store, TENANT, folder)
    monkeypatch.setattr("knowledge.store.SCHEMA_VERSION", 2)

    summary = ingest_path(store, TENANT, folder).summary

    assert (summary.updated, summary.unchanged) == (3, 0)
    assert ingest_path(store, TENANT, folder).summary.unchanged == 3
    assert store.stats(TENANT) == {"documents": 3, "chunks": 3}


def test_importing_the_package_imports_no_model_library() -> None:
    code = (
        "import sys, knowledge, knowledge.store, knowledge.embeddings; "
        "print(sorted(m for m in ('sentence_transformers', 'torch', 'transformers') "
        "if m in sys.modules))"
    )
    repo = Path(__file__).resolve().parents[3]

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True
    )

    assert result.stdout.strip() == "[]"
