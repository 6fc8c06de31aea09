"""HTML pages, PDF files and Zendesk Guide exports, including the broken ones."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.errors import DependencyError

from knowledge.chunking import chunk_document
from knowledge.loaders import html_to_markdown, load_folder, load_path, parse_html
from knowledge.types import Document

# --- HTML -----------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="de">
<head>
  <meta charset="utf-8">
  <title>Lampen pflegen | Brightleaf Hilfe</title>
  <link rel="canonical" href="https://help.example/de/lampen">
  <meta property="og:url" content="https://help.example/og">
  <style>body { color: red }</style>
  <script>var tracking = "script text";</script>
</head>
<body>
  <header class="site"><h1>Brightleaf Home</h1><a href="/">Start</a></header>
  <nav><ul><li>Navigation link</li></ul></nav>
  <div role="navigation">Breadcrumb text</div>
  <div role="banner">Banner text</div>
  <div id="cookie-banner" class="cookie-consent">We use cookies. <button>Accept</button></div>
  <noscript>Please enable JavaScript</noscript>
  <main>
    <article>
      <header><h1>Lampen pflegen</h1></header>
      <p>Ein   kurzer <strong>Einstieg</strong>
         über zwei Zeilen.</p>
      <h2>Leuchtmittel</h2>
      <ul>
        <li>E27 <ul><li>bis 60 W</li></ul></li>
        <li><p>E14</p><p>für Tischlampen</p></li>
      </ul>
      <h3>Reihenfolge</h3>
      <ol><li>Stecker ziehen</li><li>Birne wechseln</li></ol>
      <form><label>Search <input name="q"></label></form>
      <aside>Related articles</aside>
    </article>
  </main>
  <div role="contentinfo">Impressum</div>
  <footer>© Brightleaf Home</footer>
</body>
</html>
"""


def test_an_html_page_keeps_its_main_text_as_markdown(tmp_path: Path) -> None:
    (tmp_path / "lampen.html").write_text(PAGE)

    [document] = load_folder(tmp_path).documents

    assert document.source == "lampen.html"
    assert document.title == "Lampen pflegen"  # the <h1>, not "| Brightleaf Hilfe"
    assert document.url == "https://help.example/de/lampen"
    assert document.locale == "de"
    assert document.format == "markdown"
    assert document.text == (
        "# Lampen pflegen\n\n"
        "Ein kurzer Einstieg über zwei Zeilen.\n\n"
        "## Leuchtmittel\n\n"
        "- E27\n  - bis 60 W\n- E14 für Tischlampen\n\n"
        "### Reihenfolge\n\n"
        "1. Stecker ziehen\n2. Birne wechseln"
    )


def test_the_chunker_keeps_html_headings_as_context() -> None:
    page = parse_html(PAGE)

    chunks = chunk_document(Document("lampen.html", page.title or "", page.text))

    assert [chunk.heading_path for chunk in chunks] == [
        (),
        ("Leuchtmittel",),
        ("Leuchtmittel", "Reihenfolge"),
    ]


@pytest.mark.parametrize(
    "chrome",
    [
        "<nav>NOISE</nav>",
        "<header>NOISE</header>",
        "<footer>NOISE</footer>",
        "<aside>NOISE</aside>",
        "<script>NOISE</script>",
        "<style>NOISE</style>",
        "<noscript>NOISE</noscript>",
        "<form><p>NOISE</p></form>",
        '<div role="navigation">NOISE</div>',
        '<div role="banner">NOISE</div>',
        '<div role="contentinfo">NOISE</div>',
        '<div class="cookie-banner">NOISE</div>',
        '<div id="onetrust-consent-sdk">NOISE</div>',
        '<section aria-label="Cookie notice">NOISE</section>',
        "<div hidden>NOISE</div>",
        "<!-- NOISE -->",
    ],
)
def test_page_chrome_is_dropped(chrome: str) -> None:
    text = parse_html(f"<body>{chrome}<p>Kept paragraph.</p></body>").text

    assert text == "Kept paragraph."


def test_the_main_content_is_preferred_over_the_rest_of_the_body() -> None:
    around = "<div>Sidebar teaser</div>{}<div>Newsletter box</div>"

    assert parse_html(around.format("<main><p>Main</p></main>")).text == "Main"
    assert parse_html(around.format('<div role="main"><p>Role</p></div>')).text == "Role"
    assert parse_html(around.format("<article><p>Article</p></article>")).text == "Article"
    assert parse_html(around.format("<p>Body</p>")).text == (
        "Sidebar teaser\n\nBody\n\nNewsletter box"
    )


def test_title_url_and_locale_fall_back_sensibly(tmp_path: Path) -> None:
    no_title = parse_html("<body><h1>Only a heading</h1><p>Text</p></body>")
    only_title = parse_html("<title> Page title </title><p>Text</p>")
    og_url = parse_html('<meta property="og:url" content="https://help.example/og"><p>x</p>')
    logo = parse_html(
        "<title>Brightleaf Home - Lamps</title><body><header><h1>Brightleaf Home</h1></header>"
        "<p>Text</p></body>"
    )
    unsafe = parse_html('<link rel="canonical" href="javascript:alert(1)"><p>x</p>')
    (tmp_path / "bare-page.htm").write_text("<p>Nothing but text.</p>")

    assert (no_title.title, no_title.url, no_title.locale) == ("Only a heading", None, None)
    assert only_title.title == "Page title"
    assert logo.title == "Brightleaf Home - Lamps"  # a site logo's <h1> is not the title
    assert og_url.url == "https://help.example/og"
    assert unsafe.url is None
    [bare] = load_folder(tmp_path).documents
    assert (bare.title, bare.locale, bare.text) == ("Bare page", "en", "Nothing but text.")


def test_text_that_looks_like_markdown_is_escaped_and_code_is_fenced() -> None:
    text = html_to_markdown(
        "<p># of items</p><pre>```\nx = 1\n```</pre><table><tr><th>Size</th><th>cm</th></tr>"
        "<tr><td>S</td><td>40</td></tr></table><p>line<br>break</p>"
    )

    assert text == "\\# of items\n\n~~~\n```\nx = 1\n```\n~~~\n\nSize | cm\nS | 40\n\nline\nbreak"


@pytest.mark.parametrize(
    "markup",
    [
        "<p>Unclosed <b>bold <i>italic</p><li>stray item",
        "</div></p><p>Closing tags first</span>",
        "<html><body><p>Attr <a href='x>broken</a> text</p>",
        "<![if !supportLists]><p>Word export</p><![endif]>",
        "<p>" + "<div>" * 5000 + "Deeply nested" + "</div>" * 5000,
        "<<<>>><p>&bogus; &amp; entities</p>",
    ],
)
def test_broken_html_loads_without_crashing(tmp_path: Path, markup: str) -> None:
    (tmp_path / "broken.html").write_text(markup)

    result = load_folder(tmp_path)

    assert result.failures == []
    [document] = result.documents
    assert document.text.strip()


def test_html_without_main_text_or_in_another_encoding_is_reported(tmp_path: Path) -> None:
    (tmp_path / "only-nav.html").write_text("<nav>Home · Shop</nav><footer>©</footer>")
    (tmp_path / "latin1.html").write_bytes("<p>Caf\xe9</p>".encode("latin-1"))
    (tmp_path / "declared.html").write_bytes(
        '<meta charset="windows-1252"><p>Caf\xe9 \u20ac5</p>'.encode("cp1252")
    )
    (tmp_path / "binary.html").write_bytes(b"\x00\x01\x02<html>")

    result = load_folder(tmp_path)

    assert [(d.source, d.text) for d in result.documents] == [("declared.html", "Café €5")]
    reasons = dict(result.failures)
    assert reasons["only-nav.html"] == "no text in the page's main content"
    assert reasons["latin1.html"].startswith("not UTF-8 text")
    assert reasons["binary.html"].startswith("binary data")


# --- PDF ------------------------------------------------------------------------------------


def text_pdf(*lines: str) -> bytes:
    """A minimal one-page PDF, written by hand, that shows ``lines`` in Helvetica."""
    shown = " T* ".join(f"({line}) Tj" for line in lines)
    stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def rewritten(data: bytes, title: str | None = None, password: str | None = None) -> bytes:
    """The PDF again, through pypdf, with a metadata title and/or encryption."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if title is not None:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(password, owner_password="owner-secret")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_a_pdf_loads_as_plain_text_titled_by_its_metadata(tmp_path: Path) -> None:
    plain = text_pdf("Board care", "# Oil the board once a month.")
    (tmp_path / "board-care.pdf").write_bytes(plain)
    (tmp_path / "with-title.pdf").write_bytes(rewritten(plain, title="Caring for wooden boards"))

    result = load_folder(tmp_path)

    assert result.failures == []
    first, second = result.documents
    assert (first.source, first.title, first.format) == ("board-care.pdf", "Board care", "text")
    assert first.text == "Board care\n# Oil the board once a month."
    assert second.title == "Caring for wooden boards"
    assert [chunk.heading_path for chunk in chunk_document(first)] == [()]


def test_a_pdf_encrypted_only_with_an_owner_password_still_loads(tmp_path: Path) -> None:
    (tmp_path / "owner-only.pdf").write_bytes(rewritten(text_pdf("Open to read"), password=""))

    [document] = load_folder(tmp_path).documents

    assert document.text == "Open to read"


def test_encrypted_image_only_and_broken_pdfs_are_reported(tmp_path: Path) -> None:
    good = text_pdf("Readable")
    (tmp_path / "good.pdf").write_bytes(good)
    (tmp_path / "locked.pdf").write_bytes(rewritten(good, password="secret"))
    (tmp_path / "scan.pdf").write_bytes(blank_pdf())
    (tmp_path / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Cat")
    (tmp_path / "renamed.pdf").write_bytes(b"PK\x03\x04 a zip file, really")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["good.pdf"]
    reasons = dict(result.failures)
    assert reasons["locked.pdf"] == "encrypted PDF that needs a password"
    assert reasons["scan.pdf"] == "no extractable text (an image-only or scanned PDF?)"
    assert reasons["truncated.pdf"].startswith("cannot read PDF (")
    assert reasons["renamed.pdf"] == "not a PDF file (no %PDF- header)"


def test_a_pdf_that_needs_a_missing_crypto_library_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "aes.pdf").write_bytes(rewritten(text_pdf("AES"), password="secret"))

    def needs_cryptography(self: PdfReader, password: str) -> None:
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(PdfReader, "decrypt", needs_cryptography)

    result = load_path(tmp_path / "aes.pdf")

    assert result.failures == [
        ("aes.pdf", "encrypted PDF (decrypting it needs the cryptography package)")
    ]


# --- Zendesk Guide exports -------------------------------------------------------------------


def article(identifier: int, title: str, body: str, **fields: Any) -> dict[str, Any]:
    """An article as the Help Center API returns it (GET /api/v2/help_center/articles)."""
    return {
        "id": identifier,
        "url": f"https://brightleaf.zendesk.com/api/v2/help_center/en-us/articles/{identifier}.json",
        "html_url": f"https://brightleaf.zendesk.com/hc/en-us/articles/{identifier}",
        "author_id": 901,
        "comments_disabled": False,
        "draft": False,
        "promoted": False,
        "position": 0,
        "vote_sum": 0,
        "vote_count": 0,
        "section_id": 3001,
        "created_at": "2025-01-10T09:00:00Z",
        "updated_at": "2025-03-02T14:30:00Z",
        "name": title,
        "title": title,
        "source_locale": "en-us",
        "locale": "en-us",
        "outdated": False,
        "label_names": ["returns"],
        "body": body,
        **fields,
    }


def write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload))


def test_an_api_shaped_export_is_recognised_by_its_articles_key(tmp_path: Path) -> None:
    payload = {
        "articles": [
            article(101, "Returns", "<p>Return within 30 days.</p><h2>Labels</h2><p>Free.</p>"),
            article(102, "Draft", "<p>Not yet.</p>", draft=True),
            article(103, "Rückgabe", "<p>30 Tage.</p>", locale="de", html_url="/hc/de/103"),
        ],
        "page": 1,
        "page_count": 1,
        "next_page": None,
    }
    write_json(tmp_path / "articles.json", payload)

    result = load_folder(tmp_path)

    assert result.failures == []
    returns, german = result.documents
    assert returns.source == "zendesk:101"
    assert returns.title == "Returns"
    assert returns.url == "https://brightleaf.zendesk.com/hc/en-us/articles/101"
    assert returns.locale == "en-us"
    assert returns.text == "Return within 30 days.\n\n## Labels\n\nFree."
    assert [chunk.heading_path for chunk in chunk_document(returns)] == [(), ("Labels",)]
    assert (german.source, german.locale, german.url) == ("zendesk:103", "de", None)


def test_a_list_is_an_export_only_under_the_zendesk_suffix(tmp_path: Path) -> None:
    articles = [article(7, "Shipping", "<p>3–5 business days.</p>")]
    write_json(tmp_path / "help.zendesk.json", articles)
    write_json(tmp_path / "other.json", articles)
    write_json(tmp_path / "package.json", {"name": "not-an-export"})

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == ["zendesk:7"]
    reasons = dict(result.failures)
    assert set(reasons) == {"other.json", "package.json"}
    assert reasons["other.json"].startswith("not a Zendesk Guide export")
    assert "*.zendesk.json" in reasons["package.json"]


def test_one_bad_article_is_reported_and_the_rest_load(tmp_path: Path) -> None:
    articles = [
        article(1, "Good", "<p>Fine.</p>"),
        article(2, "No body", None),
        "not an object",
        {"title": "Nameless", "body": "<p>No id, no url.</p>"},
        article(5, "", "<p>No title.</p>", name=""),
        article(6, "Only nav", "<nav>Home</nav>"),
        {"html_url": "https://help.example/hc/8", "title": "Url only", "body": "<p>Ok.</p>"},
    ]
    write_json(tmp_path / "export.zendesk.json", {"articles": articles})

    result = load_folder(tmp_path)

    sources = [document.source for document in result.documents]
    assert sources == ["zendesk:1", "https://help.example/hc/8"]
    assert result.failures == [
        ("zendesk:2", "article has no body (article 2 of export.zendesk.json)"),
        (
            "article 3 of export.zendesk.json",
            "not an article object (article 3 of export.zendesk.json)",
        ),
        (
            "article 4 of export.zendesk.json",
            "article has neither an id nor an html_url (article 4 of export.zendesk.json)",
        ),
        ("zendesk:5", "article has no title (article 5 of export.zendesk.json)"),
        ("zendesk:6", "article body has no text (article 6 of export.zendesk.json)"),
    ]


def test_broken_or_empty_exports_are_reported(tmp_path: Path) -> None:
    (tmp_path / "cut.zendesk.json").write_text('{"articles": [{"id": 1, "title": ')
    write_json(tmp_path / "drafts.json", {"articles": [article(1, "D", "<p>x</p>", draft=True)]})
    write_json(tmp_path / "wrong.json", {"articles": {"id": 1}})

    result = load_folder(tmp_path)

    assert result.documents == []
    assert result.failures == [
        ("cut.zendesk.json", "not valid JSON: Expecting value (line 1, column 34)"),
        ("drafts.json", "no published articles (1 drafts skipped)"),
        ("wrong.json", "'articles' must be a list"),
    ]


# --- everything together ---------------------------------------------------------------------


def test_a_mixed_help_center_loads_past_every_kind_of_failure(tmp_path: Path) -> None:
    (tmp_path / "a-returns.md").write_text("---\ntitle: Returns\n---\n\nWithin 30 days.")
    (tmp_path / "b-page.html").write_text(PAGE)
    (tmp_path / "c-guide.pdf").write_bytes(text_pdf("Guide"))
    (tmp_path / "d-locked.pdf").write_bytes(rewritten(text_pdf("Locked"), password="pw"))
    (tmp_path / "e-export.zendesk.json").write_text(
        json.dumps([article(9, "Gift wrap", "<p>€3.95</p>"), article(10, "Bad", None)])
    )
    (tmp_path / "f-binary.txt").write_bytes(b"\x00\xff" * 10)
    (tmp_path / "g-notes.txt").write_text("Notes\n\nLast file, still loaded.")

    result = load_folder(tmp_path)

    assert [document.source for document in result.documents] == [
        "a-returns.md",
        "b-page.html",
        "c-guide.pdf",
        "zendesk:9",
        "g-notes.txt",
    ]
    assert [source for source, _ in result.failures] == [
        "d-locked.pdf",
        "zendesk:10",
        "f-binary.txt",
    ]
