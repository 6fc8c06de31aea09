"""Reciprocal rank fusion: merge ranked lists of ids without comparing their scores.

Each list gives an id ``1 / (k + rank)`` (rank from 1); an id's fused score is the
sum over the lists it appears in (Cormack, Clarke and Büttcher, SIGIR 2009). Scores
of different retrievers (cosine, BM25) live on different scales; ranks do not.
"""

from collections.abc import Hashable, Sequence
from typing import TypeVar

DEFAULT_K = 60

Id = TypeVar("Id", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Id]],
    k: int = DEFAULT_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[Id, float]]:
    """Ids of all ``rankings`` (each best first), by fused score, best first.

    An id repeated within one ranking counts at its first (best) place only. Ties
    keep the order in which ids were first met (first list first), so the result
    is deterministic. ``weights`` (one per ranking, default 1) scale each list's share.
    """
    if k < 0:
        raise ValueError("k must not be negative")
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("give one weight per ranking")
    scores: dict[Id, float] = {}
    for index, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[index]
        seen: set[Id] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])  # stable: ties keep first-met order
