"""The knowledge store's contract, against embedded Chroma and a Chroma server alike.

Every test runs twice: on a ``PersistentClient`` in a temporary folder, and over HTTP
on a real ``chroma run`` server (one per module; each test uses tenants of its own).
The embedding model is the real one, loaded once for the module (one test, about
writing, gives its chunks random vectors instead).
"""

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from chromadb.api.types import Embeddings

from knowledge import (
    Document,
    KnowledgeConfig,
    KnowledgeStore,
    KnowledgeUnavailable,
    SentenceTransformerEmbeddings,
    SyncSummary,
)
from knowledge.types import HEADING_SEPARATOR as SEP
from tests.support.chroma_server import chroma_executable, running_chroma, unused_url
from tests.support.knowledge_store import record_embedded

pytestmark = pytest.mark.slow

SHOP = [
    Document(
        source="opening-hours.md",
        title="Opening hours",
        text="## Weekdays\n\nThe shop is open from nine to six on weekdays.",
        url="https://help.example/opening-hours",
    ),
    Document(
        source="vouchers.md",
        title="Vouchers",
        text="## Using a voucher\n\nEnter the voucher code at checkout to get the discount.",
        url="https://help.example/vouchers",
    ),
    Document(
        source="pets.md",
        title="Pets",
        text="## Pets in the showroom\n\nDogs on a leash are welcome in our showroom.",
    ),
]


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbeddings:
    """The packaged model, loaded once; every store of the module shares it."""
    embeddings = SentenceTransformerEmbeddings()
    embeddings.warm_up()
    return embeddings


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed next to this Python")
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server.url


@pytest.fixture(params=["embedded", "server"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> KnowledgeConfig:
    if request.param == "embedded":
        return KnowledgeConfig(persist_dir=tmp_path / "chroma")
    url: str = request.getfixturevalue("chroma_url")
    return KnowledgeConfig(persist_dir=tmp_path / "unused", chroma_url=url, timeout_s=10.0)


@pytest.fixture
def store(model: SentenceTransformerEmbeddings, config: KnowledgeConfig) -> KnowledgeStore:
    return KnowledgeStore.open(config)


@pytest.fixture
def tenant() -> str:
    """A tenant of this test's own (the server is shared by the module's tests)."""
    return f"t-{uuid.uuid4().hex[:12]}"


def _other_tenant() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


def _counts(summary: SyncSummary) -> tuple[int, int, int, int, int]:
    return summary.added, summary.updated, summary.unchanged, summary.removed, summary.failed


def _edited(document: Document, text: str) -> Document:
    return Document(document.source, document.title, text, document.url, document.locale)


def test_a_sync_adds_every_document(store: KnowledgeStore, tenant: str) -> None:
    summary = store.sync_documents(tenant, SHOP)

    assert _counts(summary) == (3, 0, 0, 0, 0)
    assert store.stats(tenant) == {"documents": 3, "chunks": 3}


def test_a_second_sync_changes_and_embeds_nothing(
    store: KnowledgeStore, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_documents(tenant, SHOP)
    before = store.search(tenant, "voucher code", k=3)
    embedded = record_embedded(store, monkeypatch)

    summary = store.sync_documents(tenant, SHOP)

    assert _counts(summary) == (0, 0, 3, 0, 0)
    assert embedded == []
    assert store.stats(tenant) == {"documents": 3, "chunks": 3}
    assert store.search(tenant, "voucher code", k=3) == before


def test_a_changed_document_is_re_embedded_alone_and_its_old_chunks_go(
    store: KnowledgeStore, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_documents(tenant, SHOP)
    old = store.search(tenant, "when is the shop open", k=1)[0]
    changed = _edited(
        SHOP[0], "## Weekdays\n\nOpen from ten to five.\n\n## Sundays\n\nClosed on Sundays."
    )
    embedded = record_embedded(store, monkeypatch)

    summary = store.sync_documents(tenant, [changed, *SHOP[1:]])

    assert _counts(summary) == (0, 1, 2, 0, 0)
    assert len(embedded) == 2
    assert store.stats(tenant) == {"documents": 3, "chunks": 4}
    texts = {p.text for p in store.search(tenant, "when is the shop open", k=4)}
    assert {"Open from ten to five.", "Closed on Sundays."} <= texts
    ids = {p.chunk_id for p in store.search(tenant, "when is the shop open", k=10)}
    assert old.chunk_id not in ids


def test_delete_missing_removes_absent_sources_but_keeps_those_asked(
    store: KnowledgeStore, tenant: str
) -> None:
    store.sync_documents(tenant, SHOP)

    assert store.sync_documents(tenant, SHOP[:1]).removed == 0
    assert store.stats(tenant)["documents"] == 3

    summary = store.sync_documents(
        tenant, SHOP[:1], delete_missing=True, keep_sources={"vouchers.md"}
    )

    assert _counts(summary) == (0, 0, 1, 1, 0)
    assert store.stats(tenant) == {"documents": 2, "chunks": 2}
    sources = {p.source for p in store.search(tenant, "dogs in the showroom", k=10)}
    assert sources == {"opening-hours.md", "vouchers.md"}


def test_search_returns_the_best_passages_first_with_cosine_scores(
    store: KnowledgeStore, tenant: str, model: SentenceTransformerEmbeddings
) -> None:
    store.sync_documents(tenant, SHOP)

    passages = store.search(tenant, "where do I enter my voucher code", k=3)

    assert len(passages) == 3
    best = passages[0]
    assert (best.source, best.title, best.heading) == ("vouchers.md", "Vouchers", "Using a voucher")
    assert best.url == "https://help.example/vouchers"
    assert best.locale == "en"
    assert best.text == "Enter the voucher code at checkout to get the discount."
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    embedded_text = f"{SEP.join((best.title, *best.heading_path))}\n\n{best.text}"
    query, chunk = model.embed(["where do I enter my voucher code", embedded_text])
    assert best.score == pytest.approx(float(np.dot(query, chunk)), abs=1e-3)
    assert store.search(tenant, "where do I enter my voucher code", k=1) == passages[:1]


def test_tenants_are_isolated(store: KnowledgeStore, tenant: str) -> None:
    other = _other_tenant()
    store.sync_documents(tenant, SHOP)
    store.sync_documents(other, SHOP[:1])

    store.sync_documents(other, [], delete_missing=True)

    assert store.stats(other) == {"documents": 0, "chunks": 0}
    assert store.search(other, "voucher code") == []
    assert store.stats(tenant) == {"documents": 3, "chunks": 3}
    assert store.collection_name(tenant) != store.collection_name(other)


def test_an_unknown_tenant_has_nothing(store: KnowledgeStore) -> None:
    nobody = _other_tenant()

    assert store.search(nobody, "how long does a refund take") == []
    assert store.stats(nobody) == {"documents": 0, "chunks": 0}


def test_a_schema_version_bump_re_embeds_everything_once(
    store: KnowledgeStore, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_documents(tenant, SHOP)
    monkeypatch.setattr("knowledge.store.SCHEMA_VERSION", 2)

    assert _counts(store.sync_documents(tenant, SHOP)) == (0, 3, 0, 0, 0)
    assert _counts(store.sync_documents(tenant, SHOP)) == (0, 0, 3, 0, 0)
    assert store.stats(tenant) == {"documents": 3, "chunks": 3}


def test_duplicate_and_empty_documents_are_reported_not_indexed(
    store: KnowledgeStore, tenant: str
) -> None:
    empty = Document(source="empty.md", title="Empty", text="")

    summary = store.sync_documents(tenant, [SHOP[0], SHOP[0], empty])

    assert (summary.added, summary.failed) == (1, 2)
    assert {source for source, _ in summary.failures} == {"opening-hours.md", "empty.md"}
    assert store.stats(tenant) == {"documents": 1, "chunks": 1}


def test_a_document_of_more_chunks_than_chroma_takes_at_once_is_written(
    store: KnowledgeStore, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sections = "\n\n".join(f"## Part {n}\n\nThe text of part {n}." for n in range(6000))
    manual = Document(source="manual.md", title="Manual", text=sections)

    def unit_vectors(texts: Sequence[str]) -> Embeddings:  # no model: only the writing counts
        rng = np.random.default_rng(len(texts))
        vectors = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return list(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))

    monkeypatch.setattr(store.embeddings, "embed", unit_vectors)

    assert store.sync_documents(tenant, [manual]).added == 1
    assert store.stats(tenant) == {"documents": 1, "chunks": 6000}


def test_search_can_be_limited_to_a_locale(store: KnowledgeStore, tenant: str) -> None:
    german = Document(source="de.md", title="Rückgabe", text="Rückgabe in 30 Tagen.", locale="de")
    store.sync_documents(tenant, [SHOP[1], german])

    found = store.search(tenant, "return", k=5, locale="de")

    assert [(p.source, p.locale) for p in found] == [("de.md", "de")]
    assert len(store.search(tenant, "return", k=5)) == 2


def test_a_store_that_cannot_be_reached_names_where_it_is(config: KnowledgeConfig) -> None:
    if config.chroma_url:
        where = unused_url()
        unreachable = KnowledgeConfig(persist_dir=config.persist_dir, chroma_url=where)
    else:
        config.persist_dir.parent.mkdir(parents=True, exist_ok=True)
        config.persist_dir.write_text("a file where the store's folder should be")
        where, unreachable = str(config.persist_dir), config

    with pytest.raises(KnowledgeUnavailable) as raised:
        KnowledgeStore.open(unreachable)

    assert where in str(raised.value)


def test_a_server_that_goes_down_is_named_in_the_error(
    model: SentenceTransformerEmbeddings, tmp_path: Path
) -> None:
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed next to this Python")
    with running_chroma(tmp_path / "server") as server:
        store = KnowledgeStore.open(
            KnowledgeConfig(persist_dir=tmp_path / "unused", chroma_url=server.url, timeout_s=3.0)
        )
        store.sync_documents("demo", SHOP)
        server.stop()

        for attempt in (
            lambda: store.search("demo", "voucher code"),
            lambda: store.sync_documents("demo", SHOP),
            store.ping,
        ):
            with pytest.raises(KnowledgeUnavailable) as raised:
                attempt()
            assert server.url in str(raised.value)


def test_an_interrupted_sync_keeps_the_previous_state_and_is_resumed(
    store: KnowledgeStore, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.sync_documents(tenant, SHOP)
    edited = [_edited(d, d.text + "\n\nUpdated: ask in the shop for details.") for d in SHOP]
    monkeypatch.setattr("knowledge.store._SYNC_WINDOW", 1)  # one document per window
    original = store.embeddings.embed
    calls = 0

    def fails_on_the_second_window(texts: Sequence[str]) -> Embeddings:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KnowledgeUnavailable("embedding stopped (simulated crash)")
        return original(texts)

    monkeypatch.setattr(store.embeddings, "embed", fails_on_the_second_window)
    with pytest.raises(KnowledgeUnavailable, match="simulated crash"):
        store.sync_documents(tenant, edited)

    # Every document is still there and searchable: the first one updated, the rest old.
    assert store.stats(tenant) == {"chunks": 3, "documents": 3}
    found = store.search(tenant, "Can I bring my dog?", k=1)
    assert found[0].source == "pets.md"

    monkeypatch.setattr(store.embeddings, "embed", original)
    resumed = store.sync_documents(tenant, edited)
    assert (resumed.updated, resumed.unchanged) == (2, 1)
    assert _counts(store.sync_documents(tenant, edited)) == (0, 0, 3, 0, 0)
