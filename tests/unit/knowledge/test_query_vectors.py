"""The query vector of a turn: cached per message, newest weighted most."""

import numpy as np

from knowledge.query_vectors import QueryEmbedder


class CountingEmbed:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return [np.eye(3, dtype=np.float32)[len(text) % 3] for text in texts]


def test_each_message_is_embedded_once() -> None:
    embed = CountingEmbed()
    queries = QueryEmbedder(embed)
    queries.vector(["abc", "abcd"])
    queries.vector(["abcde", "abc", "abcd"])
    assert embed.calls == [["abc", "abcd"], ["abcde"]]


def test_a_single_message_is_its_own_embedding() -> None:
    vector = QueryEmbedder(CountingEmbed()).vector(["abcd"])
    assert np.allclose(vector, [0, 1, 0])


def test_newest_weighs_most_and_the_vector_is_unit_length() -> None:
    vector = QueryEmbedder(CountingEmbed(), decay=0.5).vector(["abc", "abcd"])  # e0, then e1
    assert np.isclose(np.linalg.norm(vector), 1.0)
    assert vector[0] > vector[1] > 0


def test_the_cache_is_bounded() -> None:
    embed = CountingEmbed()
    queries = QueryEmbedder(embed, cache_size=2)
    for text in ("a", "bb", "ccc", "a"):
        queries.vector([text])
    assert embed.calls[-1] == ["a"]  # evicted, embedded again
