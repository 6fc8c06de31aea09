"""The order a turn's message vectors are looked for: this process, the shared cache, the model."""

from collections.abc import Sequence

import numpy as np

from knowledge.query_vectors import QueryEmbedder
from knowledge.vector_cache import MemoryVectorCache, vector_key

DIMENSION = 3


class CountingEmbed:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        self.calls.append(list(texts))
        return [np.eye(DIMENSION, dtype=np.float32)[len(text) % DIMENSION] for text in texts]


class RecordingCache(MemoryVectorCache):
    """A shared cache that records the keys asked for."""

    def __init__(self) -> None:
        super().__init__(max_entries=100)
        self.asked: list[list[str]] = []

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        self.asked.append(list(keys))
        return super().get_many(keys)


def key(text: str) -> str:
    return vector_key(f"model-{DIMENSION}d", text)


def test_only_what_this_process_lacks_is_asked_for_and_only_what_both_lack_embedded() -> None:
    shared = RecordingCache()
    shared.put_many({key("abcd"): np.array([0, 1, 0], dtype=np.float32)})
    embed = CountingEmbed()
    queries = QueryEmbedder(embed, shared=shared, model="model", dimension=DIMENSION)
    queries.vector(["abc"])
    queries.vector(["abcde", "abcd", "abc"])
    assert shared.asked == [[key("abc")], [key("abcde"), key("abcd")]]
    assert embed.calls == [["abc"], ["abcde"]]
    queries.vector(["abcde", "abcd", "abc"])  # all in this process now
    assert len(shared.asked) == 2 and len(embed.calls) == 2


def test_what_is_embedded_is_written_to_the_shared_cache() -> None:
    shared = RecordingCache()
    QueryEmbedder(CountingEmbed(), shared=shared, model="model").vector(["ab", "a"])
    found = shared.get_many([key("ab"), key("a")])
    assert [v.tolist() if v is not None else None for v in found] == [[0, 0, 1], [0, 1, 0]]


def test_without_a_known_dimension_the_shared_cache_is_not_read() -> None:
    shared = RecordingCache()
    embed = CountingEmbed()
    QueryEmbedder(embed, shared=shared, model="model").vector(["abc"])
    assert shared.asked == [] and embed.calls == [["abc"]]


def test_a_repeated_message_is_embedded_once() -> None:
    embed = CountingEmbed()
    vector = QueryEmbedder(embed, shared=RecordingCache(), model="m").vector(["abcd", "abcd"])
    assert embed.calls == [["abcd"]]
    assert np.allclose(vector, [0, 1, 0])


def test_a_turn_longer_than_this_process_cache_still_gets_every_vector() -> None:
    vector = QueryEmbedder(CountingEmbed(), cache_size=1).vector(["a", "bb", "ccc"])
    assert np.isclose(np.linalg.norm(vector), 1.0)
