"""Reciprocal rank fusion: ranks, not scores, decide; agreement between lists wins."""

import pytest

from knowledge.fusion import DEFAULT_K, reciprocal_rank_fusion


def _ids(fused: list[tuple[str, float]]) -> list[str]:
    return [item for item, _ in fused]


def test_an_id_both_lists_rank_high_comes_first() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]])
    assert _ids(fused) == ["b", "a", "d", "c"]


def test_scores_are_sums_of_reciprocal_ranks() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b"]], k=DEFAULT_K))
    assert fused["a"] == pytest.approx(1 / (DEFAULT_K + 1))
    assert fused["b"] == pytest.approx(1 / (DEFAULT_K + 2) + 1 / (DEFAULT_K + 1))


def test_one_list_keeps_its_order() -> None:
    assert _ids(reciprocal_rank_fusion([["x", "y", "z"]])) == ["x", "y", "z"]


def test_ties_keep_the_order_ids_were_first_met() -> None:
    fused = reciprocal_rank_fusion([["a", "b"], ["c", "d"]])
    assert _ids(fused) == ["a", "c", "b", "d"]


def test_a_repeated_id_counts_at_its_best_rank_only() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "a"]], k=0))
    assert fused["a"] == pytest.approx(1.0)
    assert fused["b"] == pytest.approx(0.5)


def test_empty_lists_give_nothing() -> None:
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], []]) == []


def test_weights_scale_each_list() -> None:
    fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert _ids(fused) == ["b", "a"]


def test_smaller_k_favours_the_top_of_each_list() -> None:
    # "a" is first in one list only; "b" is second in both.
    rankings = [["a", "b"], ["c", "b"]]
    assert _ids(reciprocal_rank_fusion(rankings, k=0))[0] == "a"
    assert _ids(reciprocal_rank_fusion(rankings, k=60))[0] == "b"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="weight"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k"):
        reciprocal_rank_fusion([["a"]], k=-1)
