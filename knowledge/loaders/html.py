"""HTML pages: the main text, as Markdown, so that the structure-aware chunker keeps headings.

Site chrome is dropped (navigation, banners, footers, sidebars, scripts, forms, cookie
banners), then the main content is taken (``<main>``, ``[role=main]``, ``<article>``,
else ``<body>``). Headings become ``#`` headings, lists ``-``/``1.`` items, tables
``a | b`` lines, ``<pre>`` fenced code; everything else becomes paragraphs.
"""

import codecs
import re
from dataclasses import dataclass

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag
from bs4.exceptions import ParserRejectedMarkup

from knowledge.loaders.common import LoadFailure, checked, decode_text
from knowledge.types import Document

DROPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "nav", "aside", "form", "button", "select"}
    | {"iframe", "svg", "canvas", "object", "embed", "dialog", "head", "title", "meta", "link"}
)
DROPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary"})
HEADINGS = {f"h{level}": level for level in range(1, 7)}
BLOCK_TAGS = frozenset(HEADINGS) | {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr", "html",
    "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
MAX_DEPTH = 100  # deeper blocks are flattened into paragraphs instead of recursing further

_COOKIE_BANNER = re.compile(
    r"(cookie|consent|gdpr).*(banner|bar|notice|popup|pop-up|modal|dialog|overlay|wall|prompt)"
    r"|(banner|notice|popup|modal|dialog|overlay).*(cookie|consent)"
    r"|^(cookie-?consent|cookieconsent|cc-window|cc-banner)$|onetrust|cookiebot|cookie-law",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_MARKDOWN_LINE = re.compile(r"^(#|```|~~~)")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class HtmlPage:
    """What a page says: its main text as Markdown, and what its markup says about it."""

    text: str
    title: str | None = None
    url: str | None = None
    locale: str | None = None


def load_html(data: bytes, source: str, fallback_title: str) -> Document:
    """A Document from the bytes of an HTML file; LoadFailure when it has no main text."""
    page = parse_html(decode_html(data))
    if not page.text:
        raise LoadFailure("no text in the page's main content")
    document = Document(
        source=source,
        title=page.title or fallback_title,
        text=page.text,
        url=page.url,
        locale=page.locale or "en",
    )
    return checked(document)


def decode_html(data: bytes) -> str:
    """UTF-8, or else the charset the page declares in a ``<meta>`` tag."""
    try:
        return decode_text(data)
    except LoadFailure as failure:
        charset = _declared_charset(data)
        if charset is None or b"\x00" in data:
            raise
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            raise LoadFailure(f"{failure}, nor valid {charset} as the page declares") from None


def parse_html(markup: str) -> HtmlPage:
    """The page's main text as Markdown, with its title, canonical url and language."""
    try:
        soup = BeautifulSoup(markup, "html.parser")
        page_title, url, locale = _page_title(soup), _canonical_url(soup), _locale(soup)
        _drop_chrome(soup)
        main = _main_content(soup)
        title = _title(page_title, main)
        text = "\n\n".join(_blocks(main, 0)).strip()
    except RecursionError:
        raise LoadFailure("HTML is nested too deeply to read") from None
    except (ParserRejectedMarkup, AssertionError, ValueError) as error:
        raise LoadFailure(f"cannot parse HTML: {error}") from None
    return HtmlPage(text=text, title=title, url=url, locale=locale)


def html_to_markdown(markup: str) -> str:
    """Only the text of an HTML fragment (a help-center article body), as Markdown."""
    return parse_html(markup).text


def _page_title(soup: BeautifulSoup) -> str:
    title = soup.find("title")
    return _clean(title.get_text()) if title else ""


def _title(page_title: str, main: Tag) -> str | None:
    """``<title>``, or the main content's ``<h1>`` when the title is that plus a site name."""
    h1 = main.find("h1")
    heading = _clean(h1.get_text(" ")) if isinstance(h1, Tag) else ""
    if heading and (not page_title or heading in page_title):
        return heading
    return page_title or None


def _canonical_url(soup: BeautifulSoup) -> str | None:
    for tag, attribute in (
        (soup.find("link", rel="canonical"), "href"),
        (soup.find("meta", property="og:url"), "content"),
    ):
        value = tag.get(attribute) if isinstance(tag, Tag) else None
        if isinstance(value, str) and value.strip().lower().startswith(("https://", "http://")):
            return value.strip()
    return None


def _locale(soup: BeautifulSoup) -> str | None:
    html = soup.find("html")
    lang = html.get("lang") if isinstance(html, Tag) else None
    return (lang.strip() or None) if isinstance(lang, str) else None


def _drop_chrome(soup: BeautifulSoup) -> None:
    doomed = [tag for tag in soup.find_all(True) if _is_chrome(tag)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def _is_chrome(tag: Tag) -> bool:
    role = tag.get("role")
    if tag.name in DROPPED_TAGS or (isinstance(role, str) and role.lower() in DROPPED_ROLES):
        return True
    if tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    if tag.name in ("header", "footer"):  # a site banner, unless it belongs to an article
        return tag.find_parent(["article", "main", "section"]) is None
    return tag.name not in ("html", "body", "main", "article") and _is_cookie_banner(tag)


def _is_cookie_banner(tag: Tag) -> bool:
    classes = tag.get("class")
    names = [tag.get("id"), tag.get("aria-label"), *(classes if isinstance(classes, list) else [])]
    return any(isinstance(name, str) and _COOKIE_BANNER.search(name) for name in names)


def _main_content(soup: BeautifulSoup) -> Tag:
    for found in (soup.find("main"), soup.find(role="main"), soup.find("article"), soup.body):
        if isinstance(found, Tag):
            return found
    return soup


def _blocks(element: Tag, depth: int) -> list[str]:
    """The Markdown blocks of an element's children, in order."""
    if depth > MAX_DEPTH:
        return [_escaped(line) for line in _inline_lines(element)]
    blocks: list[str] = []
    inline: list[str] = []

    def flush() -> None:
        lines = _clean_lines("".join(inline))
        inline.clear()
        if lines:
            blocks.append("\n".join(_escaped(line) for line in lines))

    for child in element.children:
        if isinstance(child, Tag) and child.name in BLOCK_TAGS:
            flush()
            blocks.extend(_block(child, depth + 1))
        else:
            inline.append(_inline_text(child))
    flush()
    return blocks


def _block(tag: Tag, depth: int) -> list[str]:
    if tag.name in HEADINGS:
        text = " ".join(_inline_lines(tag)).lstrip("#").strip()
        return [f"{'#' * HEADINGS[tag.name]} {text}"] if text else []
    if tag.name in ("ul", "ol"):
        lines = _list_lines(tag, 0)
        return ["\n".join(lines)] if lines else []
    if tag.name == "pre":
        return _fenced(tag.get_text())
    if tag.name == "table":
        rows = [" | ".join(cells) for cells in _table_rows(tag) if cells]
        return ["\n".join(rows)] if rows else []
    if tag.name == "blockquote":
        quoted = "\n\n".join(_blocks(tag, depth))
        return ["\n".join(f"> {line}".rstrip() for line in quoted.splitlines())] if quoted else []
    return _blocks(tag, depth)


def _list_lines(list_tag: Tag, depth: int) -> list[str]:
    lines: list[str] = []
    for number, item in enumerate(list_tag.find_all("li", recursive=False), start=1):
        marker = f"{number}." if list_tag.name == "ol" else "-"
        text: list[str] = []
        nested: list[str] = []
        for child in item.children:
            if isinstance(child, Tag) and child.name in ("ul", "ol") and depth < MAX_DEPTH:
                nested.extend(_list_lines(child, depth + 1))
            else:
                text.append(_inline_text(child))
        words = " ".join(_clean_lines("".join(text)))
        if words:
            lines.append(f"{'  ' * depth}{marker} {words}")
        lines.extend(nested)
    return lines


def _table_rows(table: Tag) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.find_all("tr"):
        cells = (" ".join(_inline_lines(cell)) for cell in row.find_all(["td", "th"]))
        rows.append([cell for cell in cells if cell])
    return rows


def _fenced(code: str) -> list[str]:
    code = code.strip("\n")
    if not code.strip():
        return []
    fence = "~~~" if "```" in code else "```"
    return [f"{fence}\n{code}\n{fence}"]


def _inline_text(node: object) -> str:
    """The text of a node, whitespace collapsed; ``<br>`` and block edges become newlines."""
    if isinstance(node, NavigableString):
        return "" if isinstance(node, PreformattedString) else _SPACE.sub(" ", str(node))
    if not isinstance(node, Tag):
        return ""
    if node.name == "br":
        return "\n"
    parts = ["\n" if node.name in BLOCK_TAGS else ""]
    for inner in node.descendants:
        if isinstance(inner, Tag):
            parts.append("\n" if inner.name == "br" or inner.name in BLOCK_TAGS else "")
        elif isinstance(inner, NavigableString) and not isinstance(inner, PreformattedString):
            parts.append(_SPACE.sub(" ", str(inner)))
    parts.append("\n" if node.name in BLOCK_TAGS else "")
    return "".join(parts)


def _inline_lines(node: Tag) -> list[str]:
    return _clean_lines(_inline_text(node))


def _clean_lines(text: str) -> list[str]:
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def _escaped(line: str) -> str:
    """A line of text that Markdown would read as a heading or a fence, escaped."""
    return f"\\{line}" if _MARKDOWN_LINE.match(line) else line


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _declared_charset(data: bytes) -> str | None:
    """The charset a ``<meta>`` tag declares, if Python knows it and it is not UTF-8."""
    declared = _CHARSET.search(data[:4096])
    if declared is None:
        return None
    try:
        name = codecs.lookup(declared.group(1).decode("ascii")).name
    except LookupError:
        return None
    return None if name == "utf-8" else name
