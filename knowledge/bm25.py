"""BM25 over a tenant's chunks, built from what Chroma holds so it always matches it.

Tokens are lower-cased Unicode words (letters, digits and combining marks), with the
stop words of the chunk's language when ``bm25s`` has a list for it. Scripts written
without spaces (Chinese, Japanese, Thai...) are cut into overlapping character pairs.
Nothing here is tuned to one language or corpus.

A chunk is indexed with its title twice (a field boost: a title word says more about
the chunk than a body word), its heading path, and its text. ``Bm25Indexes`` keeps
one index per collection, rebuilt when the collection's revision changes, and saved
next to the embedded store so that a restart does not rebuild it.
"""

import functools
import json
import logging
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.records import StoredChunk
from knowledge.store import KnowledgeStore
from knowledge.types import HEADING_SEPARATOR

logger = logging.getLogger(__name__)

# Saved indexes carry it: bump it when tokenization or ``index_text`` change.
FORMAT_VERSION = 1
_META_FILE = "chunks.json"
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, CJK.
_UNSPACED = re.compile(
    "([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
)
_STOPWORD_LISTS = {
    "en": "STOPWORDS_EN_PLUS",
    "da": "STOPWORDS_DANISH",
    "de": "STOPWORDS_GERMAN",
    "es": "STOPWORDS_SPANISH",
    "fr": "STOPWORDS_FRENCH",
    "it": "STOPWORDS_ITALIAN",
    "nl": "STOPWORDS_DUTCH",
    "nb": "STOPWORDS_NORWEGIAN",
    "nn": "STOPWORDS_NORWEGIAN",
    "no": "STOPWORDS_NORWEGIAN",
    "pt": "STOPWORDS_PORTUGUESE",
    "ru": "STOPWORDS_RUSSIAN",
    "sv": "STOPWORDS_SWEDISH",
    "tr": "STOPWORDS_TURKISH",
}


def tokenize(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Lower-cased words of ``text`` minus ``stopwords``; unspaced scripts as character pairs."""
    tokens: list[str] = []
    for word in _word_pattern().findall(unicodedata.normalize("NFKC", text).casefold()):
        if _UNSPACED.search(word) is None:
            if word not in stopwords:
                tokens.append(word)
        else:
            tokens.extend(_split_unspaced(word, stopwords))
    return tokens


def prepare() -> None:
    """Build the word pattern and import ``bm25s`` now rather than at the first search.

    A worker supervisor calls it before it forks: otherwise every forked worker builds
    the pattern again (a scan of 196,608 code points), once per search thread that gets
    there before the cache is filled.
    """
    _word_pattern()
    _bm25s()


def stopwords_for(locale: str | None) -> frozenset[str]:
    """The stop words of a locale's language (``"de-AT"`` → German); empty when unknown."""
    language = re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]
    return _stopwords(language)


@functools.cache
def _stopwords(language: str) -> frozenset[str]:
    name = _STOPWORD_LISTS.get(language)
    if name is None:
        return frozenset()
    words: Iterable[str] = getattr(_bm25s().stopwords, name)
    return frozenset(unicodedata.normalize("NFKC", word).casefold() for word in words)


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Runs of letters and digits, with the combining marks inside them (``\\w`` has none).

    Marks (Unicode category M) are vowel signs and accents in many scripts (Devanagari,
    Thai, Arabic...); without them such words would fall apart.
    """
    ranges: list[tuple[int, int]] = []
    for code in range(0x30000):  # the planes where scripts live
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    marks = "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges)
    return re.compile(f"[^\\W_]+(?:[{marks}]+[^\\W_]*)*")


def _bm25s() -> Any:
    """The bm25s package, imported on first use (it brings scipy along)."""
    import bm25s  # type: ignore[import-untyped]
    import bm25s.stopwords  # type: ignore[import-untyped]

    return bm25s


def _split_unspaced(word: str, stopwords: frozenset[str]) -> list[str]:
    """Spaced parts stay words; each unspaced run becomes its overlapping character pairs."""
    tokens: list[str] = []
    for index, part in enumerate(_UNSPACED.split(word)):
        unspaced = index % 2 == 1  # re.split puts the captured (unspaced) runs at odd places
        if unspaced and len(part) > 1:
            tokens.extend(part[i : i + 2] for i in range(len(part) - 1))
        elif part and part not in stopwords:
            tokens.append(part)
    return tokens


def index_text(chunk: StoredChunk) -> str:
    """What BM25 reads of a chunk: the title twice, the heading path, then the text."""
    title = str(chunk.metadata.get("title") or "")
    heading = str(chunk.metadata.get("heading_path") or "")
    context = HEADING_SEPARATOR.join(part for part in (title, heading) if part)
    return "\n".join(part for part in (title, context, chunk.text) if part)


class Bm25Index:
    """An immutable BM25 index over chunks; safe to search from many threads at once."""

    def __init__(self, ids: Sequence[str], locales: Sequence[str], model: Any | None) -> None:
        self.ids = list(ids)
        self.locales = np.asarray(locales, dtype=str)
        self._model = model
        self._query_stopwords = frozenset().union(*map(stopwords_for, set(self.locales)))
        self._masks: dict[str, npt.NDArray[np.float32]] = {}

    @classmethod
    def build(cls, chunks: Iterable[StoredChunk]) -> "Bm25Index":
        ids: list[str] = []
        locales: list[str] = []
        corpus: list[list[str]] = []
        for chunk in chunks:
            ids.append(chunk.id)
            locales.append(chunk.locale)
            corpus.append(tokenize(index_text(chunk), stopwords_for(chunk.locale)))
        if not ids:
            return cls([], [], None)
        model = _bm25s().BM25()
        model.index(corpus, show_progress=False)
        return cls(ids, locales, model)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, n: int, locale: str | None = None) -> list[tuple[str, float]]:
        """Up to ``n`` chunk ids that share a word with ``query``, best BM25 score first."""
        if self._model is None or n < 1:
            return []
        stopwords = stopwords_for(locale) if locale else self._query_stopwords
        token_ids = self._model.get_tokens_ids(tokenize(query, stopwords))
        if not token_ids:
            return []
        scores = self._model.get_scores_from_ids(token_ids, weight_mask=self._mask(locale))
        return _top(scores, n, self.ids)

    def save(self, directory: Path, fingerprint: str) -> None:
        """Write the index into ``directory`` (replaced as a whole, never half-written)."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = directory.with_name(f".{directory.name}.{uuid.uuid4().hex}")
        if self._model is not None:
            self._model.save(str(staging), show_progress=False)
        staging.mkdir(exist_ok=True)
        meta = {"format": FORMAT_VERSION, "fingerprint": fingerprint, "ids": self.ids}
        meta["locales"] = self.locales.tolist()
        (staging / _META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        _replace_directory(staging, directory)

    @classmethod
    def load(cls, directory: Path) -> tuple["Bm25Index", str] | None:
        """The index saved in ``directory`` and its fingerprint; None if absent or unreadable."""
        try:
            meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT_VERSION:
                return None
            model = None
            if meta["ids"]:
                model = _bm25s().BM25.load(str(directory), show_progress=False)
                if model.scores["num_docs"] != len(meta["ids"]):
                    raise ValueError("the index and its chunk ids do not match")
            return cls(meta["ids"], meta["locales"], model), str(meta["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.info("BM25 index in %s not used: %s", directory, error)
            return None

    def _mask(self, locale: str | None) -> npt.NDArray[np.float32] | None:
        if not locale:
            return None
        mask = self._masks.get(locale)
        if mask is None:  # a race builds it twice at worst
            mask = (self.locales == locale).astype(np.float32)
            self._masks[locale] = mask
        return mask


def _top(scores: npt.NDArray[Any], n: int, ids: Sequence[str]) -> list[tuple[str, float]]:
    """The ``n`` best positive scores, best first (ties by position)."""
    n = min(n, len(scores))
    best = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
    best = best[scores[best] > 0]
    best = best[np.lexsort((best, -scores[best]))]
    return [(ids[int(i)], float(scores[i])) for i in best]


def _replace_directory(staging: Path, target: Path) -> None:
    """Move ``staging`` to ``target``; a reader sees the old index, none, or the new one."""
    retired = target.with_name(f".{target.name}.old.{uuid.uuid4().hex}")
    try:
        if target.exists():
            target.rename(retired)
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)


@dataclass(frozen=True)
class _Entry:
    index: Bm25Index
    fingerprint: str | None
    generation: int
    checked_at: float


class Bm25Indexes:
    """One BM25 index per tenant collection of a store, kept in step with it.

    The collection's revision is read again at most every ``refresh_s`` seconds, and
    at once after this process changed the store; an index whose revision changed is
    rebuilt from the chunks in Chroma. With a ``directory`` (the embedded store's), an
    index is saved there and loaded at the next start if still current.
    Thread-safe: while one thread rebuilds an index, others keep searching the old one.
    """

    def __init__(
        self, store: KnowledgeStore, directory: Path | None = None, refresh_s: float = 1.0
    ) -> None:
        self._store = store
        self._directory = directory
        self._refresh_s = refresh_s
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def index(self, tenant: str) -> Bm25Index:
        """The tenant's index, current with its collection (empty when there is none)."""
        name = self._store.collection_name(tenant)
        entry = self._entries.get(name)
        if entry is not None and self._is_fresh(entry):
            return entry.index
        lock = self._lock(name)
        if entry is not None and not lock.acquire(blocking=False):
            return entry.index  # another thread is refreshing it: keep searching this one
        if entry is None:
            lock.acquire()
        try:
            return self._refresh(tenant, name)
        finally:
            lock.release()

    def _is_fresh(self, entry: _Entry) -> bool:
        recent = time.monotonic() - entry.checked_at < self._refresh_s
        return recent and entry.generation == self._store.generation

    def _refresh(self, tenant: str, name: str) -> Bm25Index:
        entry = self._entries.get(name)
        if entry is not None and self._is_fresh(entry):
            return entry.index
        generation = self._store.generation
        fingerprint = self._store.revision(tenant)
        if fingerprint is None:
            index = Bm25Index([], [], None)
        elif entry is not None and entry.fingerprint == fingerprint:
            index = entry.index
        else:
            index = self._load(name, fingerprint) or self._build(tenant, name, fingerprint)
        self._entries[name] = _Entry(index, fingerprint, generation, time.monotonic())
        return index

    def _load(self, name: str, fingerprint: str) -> Bm25Index | None:
        if self._directory is None:
            return None
        loaded = Bm25Index.load(self._directory / name)
        if loaded is None or loaded[1] != fingerprint:
            return None
        return loaded[0]

    def _build(self, tenant: str, name: str, fingerprint: str) -> Bm25Index:
        started = time.perf_counter()
        index = Bm25Index.build(self._store.chunks(tenant))
        seconds = time.perf_counter() - started
        logger.info("BM25 index of %s: %d chunks in %.2f s", name, len(index), seconds)
        if self._directory is not None:
            try:
                index.save(self._directory / name, fingerprint)
            except OSError as error:
                logger.warning("cannot save the BM25 index of %s: %s", name, error)
        return index

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())
