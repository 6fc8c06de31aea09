"""Plain-text files: paragraphs only, never Markdown (a line ``# x`` is not a heading).

The first line is the title when it looks like one (short, no closing punctuation,
with more text below); otherwise the title comes from the file name.
"""

from knowledge.loaders.common import checked
from knowledge.types import Document

TITLE_MAX_CHARS = 120
_SENTENCE_PUNCTUATION = (".", ",", ";", ":", "!", "?", "…")


def parse_text(text: str, source: str, fallback_title: str) -> Document:
    """A plain-text document, marked ``format="text"`` so that chunking ignores Markdown."""
    body = text.strip()
    first, _, rest = body.partition("\n")
    title = first.strip()
    if _looks_like_title(title) and rest.strip():
        body = rest.strip()
    else:
        title = fallback_title
    return checked(Document(source=source, title=title, text=body, format="text"))


def _looks_like_title(line: str) -> bool:
    return 0 < len(line) <= TITLE_MAX_CHARS and not line.endswith(_SENTENCE_PUNCTUATION)
