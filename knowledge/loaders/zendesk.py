"""Zendesk Guide (Help Center) article exports.

A JSON file is read as an export when it is an object with an ``articles`` list
(the shape of the Help Center API's list endpoints), or when its name ends in
``.zendesk.json`` and it is such an object or a bare list of articles. Each
published article becomes one Document: ``source`` is ``zendesk:<id>``, the text
is its HTML ``body`` as Markdown, the url its ``html_url``. Drafts are skipped; an
article that cannot be read is reported by itself and the others still load.
"""

import json
from typing import Any

from knowledge.loaders.common import LoadFailure, LoadResult, decode_text
from knowledge.loaders.html import html_to_markdown
from knowledge.types import Document

ZENDESK_SUFFIX = ".zendesk.json"


def load_zendesk_export(data: bytes, source: str) -> LoadResult:
    """The published articles of an export, and a failure for each one that is unreadable."""
    articles = _articles(_parse_json(decode_text(data)), source)
    result = LoadResult()
    drafts = 0
    for index, article in enumerate(articles):
        try:
            document = article_document(article)
        except LoadFailure as failure:
            where = f"article {index + 1} of {source}"
            result.failures.append((_article_name(article, where), f"{failure} ({where})"))
            continue
        if document is None:
            drafts += 1
        else:
            result.documents.append(document)
    if not result.documents and not result.failures:
        raise LoadFailure(f"no published articles ({drafts} drafts skipped)")
    return result


def article_document(article: object) -> Document | None:
    """One Help Center article as a Document; None for a draft."""
    if not isinstance(article, dict):
        raise LoadFailure("not an article object")
    if article.get("draft") is True:
        return None
    url = _http_url(article.get("html_url"))
    source = _article_source(article) or url
    if source is None:
        raise LoadFailure("article has neither an id nor an html_url")
    title = _text_field(article, "title") or _text_field(article, "name")
    if title is None:
        raise LoadFailure("article has no title")
    body = article.get("body")
    if not isinstance(body, str):
        raise LoadFailure("article has no body")
    text = html_to_markdown(body)
    if not text:
        raise LoadFailure("article body has no text")
    locale = _text_field(article, "locale") or "en"
    return Document(source=source, title=title, text=text, url=url, locale=locale)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise LoadFailure(
            f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise LoadFailure("not valid JSON: nested too deeply") from None


def _articles(payload: Any, source: str) -> list[Any]:
    named = source.lower().endswith(ZENDESK_SUFFIX)
    if isinstance(payload, dict) and "articles" in payload:
        articles = payload["articles"]
    elif isinstance(payload, list) and named:
        articles = payload
    else:
        raise LoadFailure(
            "not a Zendesk Guide export: expected an object with an 'articles' list"
            + ("" if named else f" (or a list of articles in a *{ZENDESK_SUFFIX} file)")
        )
    if not isinstance(articles, list):
        raise LoadFailure("'articles' must be a list")
    return articles


def _article_source(article: dict[str, Any]) -> str | None:
    identifier = article.get("id")
    if isinstance(identifier, bool) or not isinstance(identifier, int | str):
        return None
    identifier = str(identifier).strip()
    return f"zendesk:{identifier}" if identifier else None


def _article_name(article: object, where: str) -> str:
    """How a failed article is named: its source when it has one, else its position."""
    if isinstance(article, dict):
        return _article_source(article) or _http_url(article.get("html_url")) or where
    return where


def _text_field(article: dict[str, Any], key: str) -> str | None:
    value = article.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _http_url(value: object) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith(("https://", "http://")):
        return value.strip()
    return None
