"""The values that flow through the knowledge package: documents, chunks, passages."""

import hashlib
from dataclasses import dataclass

HEADING_SEPARATOR = " \u203a "  # single right-pointing angle quotation mark


def _digest(*parts: str) -> str:
    """sha256 over the parts, each length-prefixed so that no two splits collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
    return hasher.hexdigest()


@dataclass(frozen=True)
class Document:
    """One source document, as loaded: a help-center article, a page, a file.

    ``source`` identifies it within a tenant (for files: the path relative to the
    folder ingested, posix style), so it is stable across machines. ``format`` says
    how chunking reads ``text``: ``"markdown"`` (headings cut it into sections) or
    ``"text"`` (plain paragraphs; a line starting with ``#`` is just a line).
    """

    source: str
    title: str
    text: str
    url: str | None = None
    locale: str = "en"
    format: str = "markdown"

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that ends up in the index changes.

        Covers the title and the text, and also the url and the locale, because
        they are stored with every chunk: editing only a document's url must
        update its chunks too.
        """
        return _digest(self.title, self.text, self.url or "", self.locale)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document small enough to embed, with the headings above it."""

    id: str
    text: str
    title: str
    heading_path: tuple[str, ...]
    source: str
    url: str | None
    locale: str
    content_hash: str
    position: int

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)

    @property
    def embedding_text(self) -> str:
        """What the embedder sees: the title and heading path, then the text."""
        context = HEADING_SEPARATOR.join((self.title, *self.heading_path))
        return f"{context}\n\n{self.text}"


def chunk_id(source: str, position: int, embedding_text: str) -> str:
    """Deterministic id: the same chunk of the same document always gets the same id."""
    return _digest(source, str(position), embedding_text)[:32]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its cosine similarity to the query (higher is closer)."""

    text: str
    title: str
    heading_path: tuple[str, ...]
    source: str
    url: str | None
    score: float
    chunk_id: str
    locale: str = "en"

    @property
    def heading(self) -> str:
        """The heading path, joined; empty for text above the first heading."""
        return HEADING_SEPARATOR.join(self.heading_path)
