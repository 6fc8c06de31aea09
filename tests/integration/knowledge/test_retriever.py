"""Hybrid retrieval against real embedded Chroma and the real embedding model.

Run with ``-s`` to see the confidence of in-domain and out-of-domain questions.
"""

import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from knowledge import (
    Document,
    KnowledgeConfig,
    KnowledgeStore,
    KnowledgeUnavailable,
    RetrievalResult,
    Retriever,
    SentenceTransformerEmbeddings,
    ingest_path,
)
from knowledge.bm25 import Bm25Index
from knowledge.rerank import Reranker
from tests.support.chroma_server import chroma_executable, running_chroma

DEMO_KB = Path(__file__).resolve().parents[3] / "agent" / "demo" / "kb"
TENANT = "demo"

IN_DOMAIN = {
    "how long does a refund take": "refunds.md",
    "can I cancel my order": "cancelling-an-order.md",
    "I forgot my password": "account-and-password-reset.md",
    "is my kettle under warranty": "warranty-on-electric-products.md",
}
OUT_OF_DOMAIN = [
    "what is the capital of France",
    "write me a poem about the sea",
    "explain quantum entanglement",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbeddings:
    embeddings = SentenceTransformerEmbeddings()
    embeddings.warm_up()
    return embeddings


@pytest.fixture(scope="module")
def demo_store(
    model: SentenceTransformerEmbeddings, tmp_path_factory: pytest.TempPathFactory
) -> KnowledgeStore:
    """The demo help center (English, German and Spanish articles), ingested once."""
    store = KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path_factory.mktemp("kb")))
    report = ingest_path(store, TENANT, DEMO_KB)
    assert not report.failed
    return store


@pytest.fixture(scope="module")
def retriever(demo_store: KnowledgeStore) -> Retriever:
    return Retriever(demo_store)


@pytest.fixture
def store(model: SentenceTransformerEmbeddings, tmp_path: Path) -> KnowledgeStore:
    return KnowledgeStore.open(KnowledgeConfig(persist_dir=tmp_path / "chroma"))


def _document(source: str, title: str, text: str, locale: str = "en") -> Document:
    return Document(source=source, title=title, text=text, locale=locale)


SHOP = [
    _document("vouchers.md", "Vouchers", "## Using a voucher\n\nEnter the code at checkout."),
    _document("pets.md", "Pets", "## Pets in the showroom\n\nDogs on a leash are welcome."),
    _document("hours.md", "Opening hours", "## Weekdays\n\nThe shop is open from nine to six."),
]


def _sources(result: RetrievalResult) -> list[str]:
    return [passage.source for passage in result.passages]


def test_in_domain_questions_find_their_article_with_high_confidence(
    retriever: Retriever,
) -> None:
    for question, source in IN_DOMAIN.items():
        result = retriever.search(TENANT, question, k=4)
        print(f"\n{result.confidence:.3f}  {question!r} -> {_sources(result)}")
        assert result.passages[0].source == source, question
        assert result.confidence >= 0.45, question  # well above out-of-domain questions


def test_out_of_domain_questions_have_low_confidence(retriever: Retriever) -> None:
    lowest_in_domain = min(retriever.search(TENANT, q).confidence for q in IN_DOMAIN)
    for question in OUT_OF_DOMAIN:
        result = retriever.search(TENANT, question, k=4)
        print(f"\n{result.confidence:.3f}  {question!r}")
        assert result.confidence < 0.35, question
        assert result.confidence < lowest_in_domain - 0.15, question


def test_scores_are_the_chunks_cosine_similarity(
    retriever: Retriever, demo_store: KnowledgeStore
) -> None:
    question = "how much is express shipping"
    result = retriever.search(TENANT, question, k=8)
    dense = {p.chunk_id: p.score for p in demo_store.search(TENANT, question, k=50)}
    assert len(result.passages) == 8
    for passage in result.passages:
        assert 0.0 <= passage.score <= 1.0
        if passage.chunk_id in dense:  # found by both: the same figure as dense search
            assert passage.score == pytest.approx(max(0.0, dense[passage.chunk_id]), abs=1e-4)
    assert result.confidence >= max(p.score for p in result.passages)


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("stonewashed", "caring-for-linen-and-cotton-textiles.md"),
        ("beeswax", "caring-for-wooden-boards-and-utensils.md"),
    ],
)
def test_hybrid_finds_exact_terms_dense_search_misses(
    retriever: Retriever, demo_store: KnowledgeStore, question: str, source: str
) -> None:
    dense = [passage.source for passage in demo_store.search(TENANT, question, k=4)]
    assert source not in dense  # the premise: the embedding alone does not find it
    assert _sources(retriever.search(TENANT, question, k=4))[0] == source


def test_hybrid_finds_a_product_name_and_an_order_status(store: KnowledgeStore) -> None:
    product = "The Quillon XR-7 kettle has a two-year warranty on its heating element."
    status = "An order in status HOLD-ADDR waits for you to confirm the delivery address."
    documents = [
        *SHOP,
        _document("kettles.md", "Kettles", f"## Warranty\n\n{product}"),
        _document("statuses.md", "Order statuses", f"## Held orders\n\n{status}"),
        _document("warranty.md", "Warranty", "## Electric products\n\nTwo years on everything."),
    ]
    store.sync_documents("shop", documents)
    retriever = Retriever(store)
    assert _sources(retriever.search("shop", "quillon", k=2))[0] == "kettles.md"
    assert _sources(retriever.search("shop", "my order says HOLD-ADDR", k=2))[0] == "statuses.md"


def test_the_conversation_gives_a_follow_up_its_subject(retriever: Retriever) -> None:
    history = [
        {"role": "user", "utterance": "My new kettle stopped heating after a month"},
        {"role": "agent", "utterance": "I am sorry to hear that. How can I help?"},
    ]
    result = retriever.search(TENANT, "is that covered?", k=4, history=history)
    assert result.passages[0].source == "warranty-on-electric-products.md"


def test_locale_keeps_only_that_locales_chunks(retriever: Retriever) -> None:
    german = retriever.search(TENANT, "Wie lange dauert die Erstattung?", k=4, locale="de")
    assert german.passages and {p.locale for p in german.passages} == {"de"}
    assert german.passages[0].source == "de/erstattungen.md"
    spanish = retriever.search(TENANT, "¿Cuánto tarda el reembolso?", k=4, locale="es")
    assert spanish.passages and {p.locale for p in spanish.passages} == {"es"}
    english = retriever.search(TENANT, "Erstattung Rücksendung", k=6, locale="en")
    assert {p.locale for p in english.passages} == {"en"}


def test_citations_travel_with_the_passages(retriever: Retriever) -> None:
    passage = retriever.search(TENANT, "how long does a refund take", k=1).passages[0]
    assert passage.title and passage.source == "refunds.md"
    assert passage.url and passage.url.startswith("https://")


def test_nothing_to_search_gives_nothing(retriever: Retriever) -> None:
    assert retriever.search("nobody", "refund") == RetrievalResult([], 0.0)
    assert retriever.search(TENANT, "   ") == RetrievalResult([], 0.0)
    assert retriever.search(TENANT, "refund", k=0) == RetrievalResult([], 0.0)


def test_bm25_follows_syncs_that_add_and_remove_documents(store: KnowledgeStore) -> None:
    store.sync_documents("shop", SHOP)
    retriever = Retriever(store)
    assert "parakeet" not in " ".join(p.text for p in retriever.search("shop", "parakeet").passages)
    birds = _document("birds.md", "Birds", "## Birds\n\nA parakeet in a cage may visit the shop.")
    store.sync_documents("shop", [*SHOP, birds])
    assert _lexical_hits(retriever, "shop", "parakeet") == ["birds.md"]
    store.sync_documents("shop", SHOP, delete_missing=True)
    assert _lexical_hits(retriever, "shop", "parakeet") == []
    assert "birds.md" not in _sources(retriever.search("shop", "parakeet", k=10))


def test_bm25_sees_a_sync_made_by_another_store(store: KnowledgeStore, tmp_path: Path) -> None:
    """Another process (``deskhand ingest`` beside the server) shows as a new revision."""
    store.sync_documents("shop", SHOP)
    retriever = Retriever(store, refresh_s=0.0)
    assert _lexical_hits(retriever, "shop", "parakeet") == []
    other = KnowledgeStore.open(store.config)
    birds = _document("birds.md", "Birds", "## Birds\n\nA parakeet in a cage may visit the shop.")
    other.sync_documents("shop", [*SHOP, birds])
    assert _lexical_hits(retriever, "shop", "parakeet") == ["birds.md"]


def test_bm25_index_is_saved_and_reused_after_a_restart(
    store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_documents("shop", SHOP)
    first = Retriever(store).search("shop", "voucher checkout")
    saved = store.config.persist_dir / "bm25" / store.collection_name("shop")
    assert (saved / "chunks.json").is_file()

    def no_rebuild(*args: object) -> Bm25Index:
        raise AssertionError("the saved index should have been loaded")

    monkeypatch.setattr(Bm25Index, "build", no_rebuild)
    assert Retriever(store).search("shop", "voucher checkout") == first


def test_with_a_chroma_server_bm25_lives_in_memory(
    model: SentenceTransformerEmbeddings, tmp_path: Path
) -> None:
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed next to this Python")
    with running_chroma(tmp_path / "server") as server:
        config = KnowledgeConfig(persist_dir=tmp_path / "unused", chroma_url=server.url)
        store = KnowledgeStore.open(config)
        birds = _document("birds.md", "Birds", "## Birds\n\nA parakeet may visit the shop.")
        store.sync_documents("shop", [*SHOP, birds])
        retriever = Retriever(store)
        assert _sources(retriever.search("shop", "parakeet", k=1)) == ["birds.md"]
        store.sync_documents("shop", SHOP, delete_missing=True)
        assert _lexical_hits(retriever, "shop", "parakeet") == []
    assert not (tmp_path / "unused" / "bm25").exists()


class FakeCrossEncoder:
    """Stands in for a cross-encoder model we cannot download here: scripted logits."""

    def __init__(self, favourite: str) -> None:
        self.favourite = favourite
        self.calls = 0
        self._lock = threading.Lock()

    def predict(
        self, sentences: list[tuple[str, str]], batch_size: int, show_progress_bar: bool
    ) -> list[float]:
        with self._lock:
            self.calls += 1
        return [4.0 if self.favourite in text else -2.0 for _, text in sentences]


def test_a_reranker_reorders_and_sets_the_confidence(demo_store: KnowledgeStore) -> None:
    question = "how long does a refund take"
    target = Retriever(demo_store).search(TENANT, question, k=4).passages[2]
    encoder = FakeCrossEncoder(favourite=target.text[:60])
    retriever = Retriever(demo_store, reranker=Reranker("fake", loader=lambda: encoder))
    result = retriever.search(TENANT, question, k=4)
    assert encoder.calls == 1
    assert result.passages[0].chunk_id == target.chunk_id
    assert result.passages[0].score == pytest.approx(target.score)  # still the cosine
    assert result.confidence == pytest.approx(1 / (1 + math.exp(-4.0)))


def test_a_missing_reranker_model_is_named(demo_store: KnowledgeStore, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-reranker")
    config = KnowledgeConfig(persist_dir=demo_store.config.persist_dir, reranker_model=missing)
    retriever = Retriever(KnowledgeStore.open(config))
    with pytest.raises(KnowledgeUnavailable, match="no-such-reranker"):
        retriever.search(TENANT, "how long does a refund take")


def test_concurrent_searches_agree_with_sequential_ones(demo_store: KnowledgeStore) -> None:
    questions = [*IN_DOMAIN, *OUT_OF_DOMAIN, "Klarna", "stonewashed"] * 3
    retriever = Retriever(demo_store)  # fresh: the first searches also race to load BM25
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda q: retriever.search(TENANT, q, k=4), questions))
    sequential = [retriever.search(TENANT, question, k=4) for question in questions]
    assert _summaries(concurrent) == _summaries(sequential)


def _summaries(results: Sequence[RetrievalResult]) -> list[tuple[list[str], float]]:
    return [([p.chunk_id for p in r.passages], round(r.confidence, 4)) for r in results]


def _lexical_hits(retriever: Retriever, tenant: str, query: str) -> list[str]:
    """The documents of the BM25 hits alone (the private index, read for the test)."""
    index = retriever._indexes.index(tenant)
    ids = [chunk_id for chunk_id, _ in index.search(query, 10)]
    chunks = retriever._store.fetch(tenant, ids)
    return sorted({chunks[chunk_id].source for chunk_id in ids})
