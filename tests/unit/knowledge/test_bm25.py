"""BM25 over chunks: the tokenizer, the index, its locale filter and its files."""

from pathlib import Path

from knowledge.bm25 import Bm25Index, index_text, stopwords_for, tokenize
from knowledge.records import StoredChunk


def _chunk(chunk_id: str, text: str, title: str = "", locale: str = "en") -> StoredChunk:
    metadata = {"source": f"{chunk_id}.md", "title": title, "heading_path": "", "locale": locale}
    return StoredChunk(chunk_id, text, metadata)


CHUNKS = [
    _chunk("refunds", "We refund within 5-7 working days.", "Refunds"),
    _chunk("klarna", "Pay in three instalments with Klarna.", "Paying with Klarna"),
    _chunk("tracking", "Your order status shows Shipped once it leaves.", "Tracking"),
    _chunk("erstattung", "Wir erstatten den Betrag innerhalb von 5-7 Tagen.", "Erstattungen", "de"),
]


def test_tokens_are_lower_case_words_without_stopwords() -> None:
    assert tokenize("Where is MY Parcel?", stopwords_for("en")) == ["parcel"]
    assert tokenize("snake_case 3-5 días") == ["snake", "case", "3", "5", "días"]


def test_combining_marks_stay_inside_words() -> None:
    assert tokenize("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_unspaced_scripts_become_character_pairs() -> None:
    assert tokenize("我想退货") == ["我想", "想退", "退货"]
    assert tokenize("货") == ["货"]


def test_stopwords_follow_the_language_of_the_locale() -> None:
    assert "die" in stopwords_for("de-AT")
    assert "die" not in stopwords_for("en")
    assert stopwords_for("xx") == frozenset()
    assert stopwords_for(None) == frozenset()


def test_index_text_counts_the_title_twice() -> None:
    chunk = StoredChunk("a", "Body.", {"title": "Refunds", "heading_path": "Timing"})
    assert index_text(chunk) == "Refunds\nRefunds › Timing\nBody."


def test_exact_terms_are_found() -> None:
    index = Bm25Index.build(CHUNKS)
    assert [chunk_id for chunk_id, _ in index.search("klarna", 3)] == ["klarna"]
    assert index.search("shipped", 3)[0][0] == "tracking"


def test_no_shared_word_means_no_hits() -> None:
    index = Bm25Index.build(CHUNKS)
    assert index.search("quantum entanglement", 3) == []
    assert index.search("the and of", 3) == []


def test_locale_restricts_the_hits() -> None:
    index = Bm25Index.build(CHUNKS)
    assert {chunk_id for chunk_id, _ in index.search("5 7", 5)} == {"refunds", "erstattung"}
    assert [chunk_id for chunk_id, _ in index.search("5 7", 5, locale="de")] == ["erstattung"]


def test_an_empty_index_finds_nothing() -> None:
    index = Bm25Index.build([])
    assert len(index) == 0
    assert index.search("anything", 5) == []


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = Bm25Index.build(CHUNKS)
    index.save(tmp_path / "collection", "fingerprint-1")
    index.save(tmp_path / "collection", "fingerprint-2")  # replaces the first
    loaded = Bm25Index.load(tmp_path / "collection")
    assert loaded is not None
    again, fingerprint = loaded
    assert fingerprint == "fingerprint-2"
    assert again.search("klarna", 3) == index.search("klarna", 3)
    assert [p.name for p in tmp_path.iterdir()] == ["collection"]


def test_a_missing_or_broken_index_loads_as_none(tmp_path: Path) -> None:
    assert Bm25Index.load(tmp_path / "absent") is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "chunks.json").write_text("{not json")
    assert Bm25Index.load(tmp_path / "broken") is None
