"""Strategies rank canned scores as documented; the registry lists them for a UI."""

from __future__ import annotations

import numpy as np
import pytest

from active_learning.errors import UnknownStrategyError
from active_learning.scores import ItemScores
from active_learning.strategies import STRATEGIES, Candidate, get_strategy, kcenter_greedy


def cand(sid, iou=0.5, entropy=0.5, disagreement=None, features=(1.0, 0.0), version="v1"):
    scores = ItemScores(version, predicted_iou=iou, entropy=entropy, disagreement=disagreement,
                        has_mask=True, features=np.asarray(features, np.float32))
    return Candidate(sid, f"img-{sid}", scores)


def ids(picks):
    return [p.candidate.sample_id for p in picks]


def test_the_registry_lists_named_described_strategies_with_random_as_baseline():
    assert {"random", "uncertainty", "diversity", "hybrid"} <= set(STRATEGIES)
    for name, strategy in STRATEGIES.items():
        assert strategy.name == name and strategy.description and "\n" not in strategy.description
    with pytest.raises(UnknownStrategyError, match="choose one of random"):
        get_strategy("smartest")


def test_uncertainty_picks_lowest_predicted_iou_then_highest_entropy():
    by_iou = [cand("a", iou=0.9), cand("b", iou=0.1), cand("c", iou=0.5)]
    assert ids(STRATEGIES["uncertainty"].select(by_iou, 2)) == ["b", "c"]
    by_entropy = [cand("a", entropy=0.2), cand("b", entropy=0.9), cand("c", entropy=0.4)]
    picks = STRATEGIES["uncertainty"].select(by_entropy, 3)
    assert ids(picks) == ["b", "c", "a"]
    assert picks[0].value == pytest.approx((0.5 + 0.9) / 2)


def test_uncertainty_counts_paraphrase_disagreement():
    items = [cand("steady", disagreement=0.0), cand("wavering", disagreement=0.8)]
    assert ids(STRATEGIES["uncertainty"].select(items, 1)) == ["wavering"]


def test_unscored_items_come_after_scored_ones():
    items = [Candidate("a-unscored", "i", None), cand("z", iou=0.9)]
    assert ids(STRATEGIES["uncertainty"].select(items, 2)) == ["z", "a-unscored"]


def test_diversity_spreads_over_feature_clusters():
    cluster_a = [cand(f"a{i}", features=(1.0, 0.01 * i)) for i in range(5)]
    cluster_b = [cand(f"b{i}", features=(0.0, 1.0 + 0.01 * i)) for i in range(2)]
    picks = STRATEGIES["diversity"].select(cluster_a + cluster_b, 2)
    assert {p[0] for p in ids(picks)} == {"a", "b"}
    # With a labeled sample in cluster b, the first pick comes from cluster a.
    labeled = [np.asarray((0.0, 1.0))]
    picks = STRATEGIES["diversity"].select(cluster_a + cluster_b, 1, labeled=labeled)
    assert ids(picks)[0][0] == "a"


def test_kcenter_values_never_grow():
    rng = np.random.default_rng(0)
    items = [cand(f"s{i:02d}", features=rng.normal(size=8)) for i in range(30)]
    values = [p.value for p in kcenter_greedy(items, 10)][1:]  # the first pick is the medoid
    assert values == sorted(values, reverse=True) and len(set(ids(kcenter_greedy(items, 10)))) == 10


def test_hybrid_mixes_uncertainty_with_spread():
    # The five most uncertain items are near-duplicates; hybrid takes the most uncertain one,
    # then the most uncertain-enough item elsewhere, where uncertainty alone takes two twins
    # and diversity alone ignores how sure the model is.
    twins = [cand(f"a{i}", iou=0.10 + 0.01 * i, features=(1.0, 0.0)) for i in range(5)]
    other = [cand("b-unsure", iou=0.3, features=(0.0, 1.0)),
             cand("c-sure", iou=0.99, features=(-1.0, -1.0))]
    items = twins + other
    assert ids(STRATEGIES["uncertainty"].select(items, 2)) == ["a0", "a1"]
    assert ids(STRATEGIES["hybrid"].select(items, 2)) == ["a0", "b-unsure"]
    assert "c-sure" in ids(STRATEGIES["diversity"].select(items, 3))


def test_random_is_seeded_and_ignores_input_order():
    items = [cand(f"s{i}") for i in range(20)]
    first = ids(STRATEGIES["random"].select(items, 5, seed=7))
    assert ids(STRATEGIES["random"].select(items[::-1], 5, seed=7)) == first
    assert ids(STRATEGIES["random"].select(items, 5, seed=8)) != first
    assert len(set(first)) == 5


@pytest.mark.parametrize("name", ["diversity", "hybrid"])
def test_items_scored_by_two_model_versions_with_different_feature_lengths(name):
    # An interrupted rescore: two items still have the old model's 4-long features.
    rng = np.random.default_rng(0)
    items = [cand(f"old{i}", features=rng.random(4), version="v1") for i in range(2)]
    items += [cand(f"new{i}", features=rng.random(8), version="v2") for i in range(3)]
    for k in (3, 10):
        picked = ids(STRATEGIES[name].select(items, k))
        assert len(picked) == len(set(picked)) == min(k, len(items))


@pytest.mark.parametrize("name", ["diversity", "hybrid"])
def test_feature_strategies_measure_no_distance_across_model_versions(name):
    # Equal lengths, other spaces: the old items' features look far from the new ones, which
    # says nothing. They come after the spread over the new ones, as items without features do.
    new = [cand(f"new{i}", features=(1.0, 0.1 * i), version="v2") for i in range(3)]
    old = [cand(f"old{i}", features=(-1.0, 0.1 * i), version="v1") for i in range(2)]
    picks = STRATEGIES[name].select(old + new, 5)
    assert {sid[:3] for sid in ids(picks[:3])} == {"new"}
    assert ids(picks[3:]) == ["old0", "old1"] and [p.value for p in picks[3:]] == [None, None]
