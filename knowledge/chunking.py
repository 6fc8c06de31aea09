"""Structure-aware Markdown chunking.

A document is cut at its headings (``#`` to ``######``) first; each section is
then packed paragraph by paragraph into chunks of at most ``max_chars``. A
paragraph is only cut when it alone exceeds the budget, and then at sentence
ends (a sentence longer than the budget is cut at word boundaries). Every chunk
carries the document title and the path of headings above it.

A plain-text document (``format == "text"``) has no headings: it is one section,
cut at blank lines only, so a line starting with ``#`` or a fence stays text.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from knowledge.types import Chunk, Document, chunk_id

DEFAULT_MAX_CHARS = 800

_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"')\]]))\s+")


@dataclass(frozen=True)
class Section:
    """The text under one heading, up to the next heading of any level."""

    heading_path: tuple[str, ...]
    text: str


def chunk_document(document: Document, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Cut a document into chunks with deterministic ids, in reading order."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    pieces = [
        (heading_path, text)
        for heading_path, paragraphs in _sections_with_paragraphs(document)
        for text in pack_paragraphs(paragraphs, max_chars)
    ]
    return [
        _make_chunk(document, position, heading_path, text)
        for position, (heading_path, text) in enumerate(pieces)
    ]


def split_sections(text: str, title: str = "") -> list[Section]:
    """Sections with their heading paths; a level-1 heading equal to the title is dropped."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []

    def close_section() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(tuple(name for _, name in stack), body))
        lines.clear()

    for line, is_code in _lines_with_fence_state(text):
        match = None if is_code else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        close_section()
        level, name = len(match.group(1)), match.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        if name and not (level == 1 and name == title):
            stack.append((level, name))
    close_section()
    return sections


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks; a fenced code block stays whole."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line, is_code in _lines_with_fence_state(text):
        if not line.strip() and not is_code:
            paragraphs.extend(_joined(current))
            current = []
        else:
            current.append(line)
    paragraphs.extend(_joined(current))
    return paragraphs


def pack_paragraphs(paragraphs: list[str], max_chars: int) -> list[str]:
    """Greedily join paragraphs (blank line between) into pieces of at most max_chars."""
    pieces: list[str] = []
    current = ""
    for unit in _units(paragraphs, max_chars):
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = unit
    if current:
        pieces.append(current)
    return pieces


def split_sentences(paragraph: str, max_chars: int) -> list[str]:
    """Cut an over-long paragraph at sentence ends, packing sentences up to the budget."""
    sentences = [s for s in _SENTENCE_END.split(paragraph) if s.strip()]
    pieces: list[str] = []
    current = ""
    for sentence in (part for s in sentences for part in _split_words(s.strip(), max_chars)):
        candidate = f"{current} {sentence}" if current else sentence
        if len(candidate) <= max_chars:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = sentence
    if current:
        pieces.append(current)
    return pieces


def _units(paragraphs: list[str], max_chars: int) -> Iterator[str]:
    for paragraph in paragraphs:
        if len(paragraph) <= max_chars:
            yield paragraph
        else:
            yield from split_sentences(paragraph, max_chars)


def _split_words(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than the budget is cut between words (inside a word if need be)."""
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for word in sentence.split():
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= max_chars:
            current = candidate
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def _lines_with_fence_state(text: str) -> Iterator[tuple[str, bool]]:
    """Each line, and whether it belongs to a fenced code block (fence lines included)."""
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            yield line, True
        else:
            yield line, in_fence


def _sections_with_paragraphs(document: Document) -> Iterator[tuple[tuple[str, ...], list[str]]]:
    """Each section's heading path and paragraphs; plain text is one section, no headings."""
    if document.format == "text":
        yield (), _plain_paragraphs(document.text)
        return
    for section in split_sections(document.text, document.title):
        yield section.heading_path, split_paragraphs(section.text)


def _plain_paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks of plain text, with no Markdown rules at all."""
    return [block.strip("\n") for block in _BLANK_LINE.split(text) if block.strip()]


def _joined(lines: list[str]) -> list[str]:
    block = "\n".join(lines).strip("\n")
    return [block] if block.strip() else []


def _make_chunk(
    document: Document, position: int, heading_path: tuple[str, ...], text: str
) -> Chunk:
    chunk = Chunk(
        id="",
        text=text,
        title=document.title,
        heading_path=heading_path,
        source=document.source,
        url=document.url,
        locale=document.locale,
        content_hash=document.content_hash,
        position=position,
    )
    return replace(chunk, id=chunk_id(chunk.source, position, chunk.embedding_text))
