"""Helpers for tests of the knowledge store."""

from collections.abc import Callable, Sequence

import pytest
from chromadb.api.types import Embeddings

from knowledge import KnowledgeStore


def record_embedded(store: KnowledgeStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every text the store embeds from now on (the texts are still embedded)."""
    embedded: list[str] = []
    original: Callable[[Sequence[str]], Embeddings] = store.embeddings.embed

    def recording(texts: Sequence[str]) -> Embeddings:
        embedded.extend(texts)
        return original(texts)

    monkeypatch.setattr(store.embeddings, "embed", recording)
    return embedded
