"""Structure-aware chunking: headings become context, paragraphs stay whole."""

import pytest

from knowledge.chunking import (
    chunk_document,
    pack_paragraphs,
    split_paragraphs,
    split_sections,
    split_sentences,
)
from knowledge.types import HEADING_SEPARATOR as SEP
from knowledge.types import Document

ARTICLE = """# Returns policy

Intro paragraph above every section.

## What can be returned

Unused items in their original packaging.

## How to start a return

### Online

Go to your orders and choose Return items.

### By email

Write to support with your order number.
"""


def _document(text: str = ARTICLE, **overrides: str) -> Document:
    fields = {"source": "returns.md", "title": "Returns policy", "url": "https://x/returns"}
    fields.update(overrides)
    return Document(text=text, **fields)


def test_sections_carry_their_heading_path_without_the_title() -> None:
    sections = split_sections(ARTICLE, title="Returns policy")

    assert [section.heading_path for section in sections] == [
        (),
        ("What can be returned",),
        ("How to start a return", "Online"),
        ("How to start a return", "By email"),
    ]
    assert sections[2].text == "Go to your orders and choose Return items."


def test_a_heading_closes_deeper_headings_of_the_previous_section() -> None:
    text = "## A\n\n### A1\n\nfirst\n\n## B\n\nsecond\n\n#### B-deep\n\nthird"

    paths = [section.heading_path for section in split_sections(text)]

    assert paths == [("A", "A1"), ("B",), ("B", "B-deep")]


def test_hash_lines_inside_code_fences_are_not_headings() -> None:
    text = "## Setup\n\n```bash\n# install it\npip install x\n\n# run it\n```\n\nAfter the code."

    sections = split_sections(text)
    paragraphs = split_paragraphs(sections[0].text)

    assert len(sections) == 1
    assert paragraphs[0].startswith("```bash") and paragraphs[0].endswith("```")
    assert "# run it" in paragraphs[0]
    assert paragraphs[1] == "After the code."


def test_chunks_keep_title_headings_and_plain_text_apart() -> None:
    chunks = chunk_document(_document())

    online = next(chunk for chunk in chunks if chunk.heading_path[-1:] == ("Online",))
    assert online.text == "Go to your orders and choose Return items."
    assert online.embedding_text == (
        f"Returns policy{SEP}How to start a return{SEP}Online\n\n"
        "Go to your orders and choose Return items."
    )
    assert online.heading == f"How to start a return{SEP}Online"
    assert (online.source, online.url, online.title) == (
        "returns.md",
        "https://x/returns",
        "Returns policy",
    )
    assert [chunk.position for chunk in chunks] == list(range(len(chunks)))
    assert {chunk.content_hash for chunk in chunks} == {_document().content_hash}


def test_chunk_ids_are_deterministic_and_change_with_content() -> None:
    first = [chunk.id for chunk in chunk_document(_document())]
    again = [chunk.id for chunk in chunk_document(_document())]
    edited = [
        chunk.id
        for chunk in chunk_document(_document(ARTICLE.replace("Unused items", "New items")))
    ]

    assert first == again
    assert len(set(first)) == len(first)
    assert all(len(chunk_id) == 32 for chunk_id in first)
    assert edited[1] != first[1]
    assert edited[0] == first[0]


def test_paragraphs_are_packed_up_to_the_budget_and_never_cut() -> None:
    paragraphs = ["a" * 300, "b" * 300, "c" * 300]

    pieces = pack_paragraphs(paragraphs, max_chars=700)

    assert pieces == ["a" * 300 + "\n\n" + "b" * 300, "c" * 300]


def test_an_over_long_paragraph_is_cut_at_sentence_ends() -> None:
    sentence = "This sentence is exactly fifty characters long ok. "
    paragraph = (sentence * 10).strip()

    pieces = pack_paragraphs([paragraph], max_chars=120)

    assert all(len(piece) <= 120 for piece in pieces)
    assert all(piece.endswith("ok.") for piece in pieces)
    assert " ".join(pieces) == paragraph


def test_sentence_splitting_keeps_closing_quotes_and_brackets() -> None:
    paragraph = 'Choose "Track parcel." It opens the carrier page (in a new tab.) Done!'

    pieces = split_sentences(paragraph, max_chars=45)

    assert pieces == [
        'Choose "Track parcel."',
        "It opens the carrier page (in a new tab.)",
        "Done!",
    ]


def test_a_sentence_longer_than_the_budget_is_cut_between_words() -> None:
    sentence = " ".join(["word"] * 60)

    pieces = split_sentences(sentence, max_chars=50)

    assert all(len(piece) <= 50 for piece in pieces)
    assert " ".join(pieces) == sentence


def test_long_sections_become_several_chunks_with_the_same_heading() -> None:
    body = "\n\n".join(f"Paragraph {i}. " + "x" * 200 for i in range(10))
    document = _document(f"## Long section\n\n{body}")

    chunks = chunk_document(document, max_chars=500)

    assert len(chunks) > 1
    assert all(chunk.heading_path == ("Long section",) for chunk in chunks)
    assert all(len(chunk.text) <= 500 for chunk in chunks)
    assert "\n\n".join(chunk.text for chunk in chunks) == body


def test_an_empty_document_gives_no_chunks() -> None:
    assert chunk_document(_document("## Only a heading\n\n")) == []


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk_document(_document(), max_chars=0)
