"""The figures `benchmarks/al_strategies.py` reports: area under the curve, labels to reach random."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).parents[2] / "benchmarks" / "al_strategies.py"
_spec = importlib.util.spec_from_file_location("al_strategies", _PATH)
al_strategies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(al_strategies)


def curve(*points):
    return [{"labeled": n, "ciou": c} for n, c in points]


def test_area_is_the_mean_ciou_over_the_labeled_range():
    assert al_strategies.area(curve((0, 0.2), (10, 0.4))) == pytest.approx(0.3)
    assert al_strategies.area(curve((0, 0.2), (10, 0.2), (20, 0.6))) == pytest.approx((2 + 4) / 20)


def test_labels_to_reach_interpolates_and_says_when_never():
    rising = curve((0, 0.1), (8, 0.3), (16, 0.5))
    assert al_strategies.labels_to_reach(rising, 0.4) == pytest.approx(12)
    assert al_strategies.labels_to_reach(rising, 0.05) == 0
    assert al_strategies.labels_to_reach(rising, 0.6) is None


def test_compare_reports_the_share_of_randoms_labels():
    random = curve((0, 0.1), (8, 0.2), (16, 0.3))
    better = curve((0, 0.1), (8, 0.3), (16, 0.35))
    result = al_strategies.compare(random, better)
    assert result["label_share"] == pytest.approx(0.5)
    assert result["auc_other"] > result["auc_random"]
