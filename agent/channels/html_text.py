"""HTML message bodies (Intercom, Help Scout, Freshdesk, Front) as the plain text a person
would read: paragraphs and line breaks kept, tags and entities gone."""

from collections.abc import Iterable

from bs4 import BeautifulSoup

_BLOCKS = ("p", "div", "li", "blockquote", "tr", "h1", "h2", "h3", "h4", "h5", "h6")


def html_to_text(html: str) -> str:
    if "<" not in html and "&" not in html:
        return html.strip()
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.append("\n")
    lines = (line.strip() for line in soup.get_text().splitlines())
    return "\n".join(_collapse_blank(lines)).strip()


def _collapse_blank(lines: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return kept
