"""Quality measures and grades, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from segml.models import evaluation as ev


def test_quality_measures_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2])
    assert ev.lift_at(y, p, 0.10) == pytest.approx(1 / 0.3)
    actual = np.array([10.0, 0.0, 5.0, 5.0])
    assert ev.normalized_gini(actual, actual) == pytest.approx(1.0)
    assert ev.normalized_gini(actual, -actual) < 0
    assert ev.capture_at(actual, np.array([4, 3, 2, 1]), 0.25) == pytest.approx(0.5)
    deciles = ev.decile_table(np.arange(20.0), np.arange(20.0))
    assert (
        deciles["decile"].tolist() == list(range(1, 11)) and deciles["mean_actual"].iloc[0] == 18.5
    )


def test_rank_auc_is_scikit_learns_auc_with_ties():
    # by hand: positives score 0.9 and 0.5, negatives 0.5 and 0.1; of the 4 pairs, 3 ordered
    # right and 1 tied (counts half)
    assert ev.rank_auc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(3.5 / 4)
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 300)
        p = rng.integers(0, 12, 300) / 11  # many ties
        assert ev.rank_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert np.isnan(ev.rank_auc([1, 1], [0.2, 0.3]))


def test_grades_come_from_every_fold_and_the_spread():
    def grade(model, **baselines):
        return ev.backtest_grade("churn", "roc_auc", {"model": model, **baselines}, margin_a=0.02)

    clearly = grade([0.90, 0.91, 0.90], recency=[0.85, 0.86, 0.85], bgnbd=[0.87, 0.88, 0.88])
    assert clearly["grade"] == "A" and clearly["best_baseline"] == "bgnbd"
    assert clearly["margins"] == pytest.approx([0.03, 0.03, 0.02])
    better = grade(
        [0.90, 0.91, 0.90], bgnbd=[0.89, 0.90, 0.89]
    )  # +0.01 each fold: beyond the spread
    assert better["grade"] == "B" and better["beats_baseline"]
    noisy = grade([0.90, 0.88, 0.92], bgnbd=[0.89, 0.90, 0.90])  # +0.003 on average, spread 0.015
    assert noisy["grade"] == "C" and noisy["finding"] == "no clear difference"
    assert "no clear difference" in noisy["verdict_en"] and "无明显差异" in noisy["verdict_zh"]
    worse = grade([0.85, 0.86, 0.85], bgnbd=[0.89, 0.90, 0.89])
    assert worse["grade"] == "C" and worse["finding"] == "worse"
    assert grade([0.95], bgnbd=[0.80])["grade"] == "C"  # one fold cannot show a spread
