"""PDF files: the extractable text of every page, joined.

A PDF that needs a password, or whose pages hold no text (scans, images), is
reported as a failure with that reason; so is one pypdf cannot parse.
"""

import io
import logging
import re

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from knowledge.loaders.common import LoadFailure, checked
from knowledge.types import Document

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 120
_PDF_MAGIC = b"%PDF-"
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def load_pdf(data: bytes, source: str, fallback_title: str) -> Document:
    """A plain-text Document from a PDF's bytes; LoadFailure with a reason otherwise."""
    if _PDF_MAGIC not in data[:1024]:
        raise LoadFailure("not a PDF file (no %PDF- header)")
    try:
        reader = _open(data)
        text = "\n\n".join(_page_texts(reader)).strip()
        title = _metadata_title(reader)
    except LoadFailure:
        raise
    except Exception as error:  # pypdf raises many kinds of error on malformed files
        logger.debug("pypdf could not read %s", source, exc_info=True)
        raise LoadFailure(f"cannot read PDF ({type(error).__name__}: {error})") from None
    if not text:
        raise LoadFailure("no extractable text (an image-only or scanned PDF?)")
    title = title or _first_line_title(text) or fallback_title
    return checked(Document(source=source, title=title, text=text, format="text"))


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except DependencyError:
            raise LoadFailure(
                "encrypted PDF (decrypting it needs the cryptography package)"
            ) from None
        if opened == PasswordType.NOT_DECRYPTED:
            raise LoadFailure("encrypted PDF that needs a password")
    return reader


def _page_texts(reader: PdfReader) -> list[str]:
    texts = []
    for page in reader.pages:
        text = (page.extract_text() or "").replace("\x00", "")
        text = _BLANK_LINES.sub("\n\n", text).strip()
        if text:
            texts.append(text)
    return texts


def _metadata_title(reader: PdfReader) -> str | None:
    metadata = reader.metadata
    title = metadata.title if metadata is not None else None
    return (title.strip() or None) if isinstance(title, str) else None


def _first_line_title(text: str) -> str | None:
    first = text.split("\n", 1)[0].strip()
    return first if 0 < len(first) <= TITLE_MAX_CHARS else None
