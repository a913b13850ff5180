"""BG/NBD read both ways, the blend, totals that add up, value ranges and next purchase dates,
on hand-made numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from segml.models import evaluation as ev
from segml.models.next_purchase import (
    NONE_EXPECTED,
    OWN_GAPS,
    TYPICAL_GAP,
    days_to_next,
    expected_within,
    fold_next_purchase,
    typical_repeat_gap,
)
from segml.models.ranges import (
    ValueRanges,
    fit_ranges,
    floor_share,
    fold_ranges,
    held_share,
)
from segml.models.scorers import ChurnBlend, RuleScorer, ScaledScorer, ValueBlend
from segml.models.totals import (
    calibration_applies,
    factor_of,
    fold_totals,
    short_history,
    tier_of,
)


def test_expected_purchases_rule_gives_fewer_purchases_more_risk():
    frame = pd.DataFrame({"bgnbd_expected_purchases": [0.1, 0.5, 2.0, 4.0, 0.2, 3.0]})
    churned = np.array([1, 1, 0, 0, 1, 0])
    rule = RuleScorer("bgnbd_expected_purchases", "baseline_bgnbd_expected", increasing=False)
    p = rule.fit(frame, churned).predict(frame)
    order = np.argsort(frame["bgnbd_expected_purchases"].to_numpy())
    assert np.all(np.diff(p[order]) <= 0)
    assert p[0] == pytest.approx(1.0) and p[3] == pytest.approx(0.0, abs=1e-8)
    assert p[0] > p[4] > p[1]  # inside a flat step the tie-break keeps the feature's order


def test_a_tie_between_the_two_readings_keeps_expected_purchases():
    model = [0.86, 0.86, 0.86]
    scores = {"model": model, "baseline_bgnbd": [0.850, 0.851, 0.852]}
    # expected purchases 0.0005 lower on average, within the 0.002 bootstrap error: a tie
    tie = {**scores, "baseline_bgnbd_expected": [0.8495, 0.8505, 0.8515]}
    preferred = {"baseline_bgnbd": "baseline_bgnbd_expected"}
    errors = {"baseline_bgnbd_expected": [0.002] * 3}
    grade = ev.backtest_grade("churn", "roc_auc", tie, 0.02, None, preferred, errors)
    assert grade["best_baseline"] == "baseline_bgnbd_expected"
    assert grade["margins"] == pytest.approx([0.0105, 0.0095, 0.0085])
    # 0.01 lower in every fold, beyond the spread: the probability stays the best baseline
    clear = {**scores, "baseline_bgnbd_expected": [0.840, 0.841, 0.842]}
    assert (
        ev.backtest_grade("churn", "roc_auc", clear, 0.02, None, preferred, errors)["best_baseline"]
        == "baseline_bgnbd"
    )


def test_the_blend_is_kept_only_when_it_beats_both_by_more_than_the_spread():
    kept = ev.blend_judgement("churn", "roc_auc", [0.003, 0.002, 0.0025], [0.0004] * 3, "x")
    assert kept["kept"] and kept["margin_mean"] == pytest.approx(0.0025)
    assert kept["margin_spread"] == pytest.approx(0.0005)  # the fold SD beats the bootstrap's
    assert "beats both" in kept["verdict_en"]
    lost = ev.blend_judgement("churn", "roc_auc", [0.001, -0.001, 0.0], [0.0004] * 3, "x")
    assert not lost["kept"] and "does not beat" in lost["verdict_en"]
    assert not ev.blend_judgement("churn", "roc_auc", [0.01], [0.0001], "x")["kept"]  # one fold


class _Fixed:
    """A scorer returning a column (stands in for a trained model)."""

    features_ = ["m", "b"]

    def __init__(self, column):
        self.column = column

    def predict(self, frame):
        return frame[self.column].to_numpy(dtype=float)

    predict_proba = predict

    def contributions(self, frame):
        return pd.DataFrame({"m": frame["m"] - 0.5, "b": 0.0}, index=frame.index)


def test_churn_blend_averages_percentile_ranks_and_scores_each_row_alone():
    rng = np.random.default_rng(0)
    held = pd.DataFrame({"m": rng.random(400), "b": rng.random(400)})
    y = (held["m"] + held["b"] + rng.normal(0, 0.3, 400) > 1).astype(float).to_numpy()
    baseline = RuleScorer("b", "rule", calibrate=False).fit(held)
    blend = ChurnBlend(_Fixed("m"), baseline).fit(held, y)
    raw = blend._raw(held["m"].to_numpy(), held["b"].to_numpy())
    ranks = (held.rank() - 1) / (len(held) - 1)  # each score's percentile among the held-out
    np.testing.assert_allclose(raw, (ranks["m"] + ranks["b"]) / 2, atol=0.005)
    p = blend.predict_proba(held)
    assert ((p >= 0) & (p <= 1)).all()
    assert np.corrcoef(np.argsort(np.argsort(p)), np.argsort(np.argsort(raw)))[0, 1] > 0.999
    np.testing.assert_array_equal(blend.predict_proba(held.iloc[:7]), p[:7])  # no neighbours
    assert "b" in blend.contributions(held.iloc[:3])


def test_value_blend_and_scaled_forecast_stay_in_currency():
    frame = pd.DataFrame({"m": [100.0, 0.0, 30.0], "b": [50.0, 10.0, 30.0]})
    rule = RuleScorer("b", "rule", calibrate=False).fit(frame)
    blend = ValueBlend(_Fixed("m"), rule).fit(frame, np.zeros(3))
    np.testing.assert_allclose(blend.predict(frame), [75.0, 5.0, 30.0])
    scaled = ScaledScorer(blend, 0.8)
    np.testing.assert_allclose(scaled.predict(frame), [60.0, 4.0, 24.0])
    assert scaled.features_ == ["m", "b"]


def test_totals_per_fold_are_raw_and_corrected_by_the_folds_before():
    y1, f1 = np.array([10.0, 0.0, 30.0]), np.array([20.0, 10.0, 30.0])  # 60 / 40 = 1.5
    y2, f2 = np.array([0.0, 40.0, 20.0]), np.array([30.0, 30.0, 30.0])  # 90 / 60 = 1.5
    folds = fold_totals({"fold_1": (y1, f1), "fold_2": (y2, f2)})
    assert folds["fold_1"]["total_ratio"] == pytest.approx(1.5)
    assert "total_ratio_calibrated" not in folds["fold_1"]  # nothing before it
    assert folds["fold_2"]["total_ratio_calibrated"] == pytest.approx(1.0)  # x 40/60
    # potential levels are thirds of the forecast: here one customer each
    assert folds["fold_1"]["total_ratio_high"] == pytest.approx(1.0)
    assert folds["fold_1"]["total_ratio_mid"] == pytest.approx(20 / 10)
    assert np.isnan(folds["fold_1"]["total_ratio_low"])  # nobody in it spent
    assert factor_of([(y1, f1), (y2, f2)]) == pytest.approx(100 / 150)
    assert factor_of([(np.array([1.0]), np.array([100.0]))]) == 0.5  # clipped
    assert list(tier_of(np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0]))) == [1, 0, 2, 1, 2, 0]
    assert calibration_applies("auto", 2) and not calibration_applies("auto", 1)
    assert calibration_applies("on", 1) and not calibration_applies("off", 3)
    assert short_history(500, 90) and not short_history(365 + 180, 90)


def test_ranges_hold_the_asked_share_and_start_at_zero_where_most_spend_nothing():
    rng = np.random.default_rng(1)
    forecast = rng.gamma(1.0, 100.0, 5000)
    buys = rng.random(5000) < np.clip(forecast / 300, 0.05, 0.95)
    realized = np.where(buys, rng.gamma(2.0, forecast / 2 + 1), 0.0)
    ranges = fit_ranges(forecast, realized, 0.8)
    low, high = ranges.bounds(forecast)
    # ranges that hold the forecast cannot hold fewer than [0, forecast] does here (0.865: two
    # in three spend nothing, most buyers less than their forecast): the least upper level
    floor = held_share(realized, np.zeros_like(forecast), forecast)
    assert floor > 0.85 and held_share(realized, low, high) == pytest.approx(floor, abs=0.015)
    assert ranges.upper_level == 0.0
    assert (low <= high).all() and (low[forecast < np.quantile(forecast, 0.5)] == 0).all()
    # where buyers spend more than their forecast, the search finds the asked share
    more = np.where(buys, rng.gamma(2.0, forecast + 1), 0.0)
    ranges = fit_ranges(forecast, more, 0.8)
    assert held_share(more, *ranges.bounds(forecast)) == pytest.approx(0.8, abs=0.01)
    assert 0 < ranges.upper_level <= 0.9
    assert floor_share(ranges, forecast, more) >= 0.8
    # walk-forward: the second fold is judged with ranges from the first
    folds = fold_ranges(
        {
            "fold_1": (more[:2500], forecast[:2500]),
            "fold_2": (more[2500:], forecast[2500:]),
        },
        (more[:2500], forecast[:2500]),
        0.8,
    )
    assert folds["fold_2"]["coverage"] == pytest.approx(0.8, abs=0.03)
    assert 0 < folds["fold_2"]["p10_zero_share"] <= 1


def test_a_range_always_holds_the_forecast_shown_beside_it():
    """A bin's bounds are what its customers spent; the forecast shown (times the total's factor)
    can lie outside them (a bin where most spend nothing: ¥0-¥0; the best customers above the
    bin's high end): the range is stretched to it, and the level is searched on those ranges."""
    ranges = ValueRanges(0.8, 0.7, np.array([100.0]), np.array([0.0, 20.0]), np.array([0.0, 150.0]))
    low, high = ranges.bounds(np.array([50.0, 120.0, 300.0]))  # no factor: shown as binned
    np.testing.assert_array_equal(low, [0.0, 20.0, 20.0])
    np.testing.assert_array_equal(high, [50.0, 150.0, 300.0])  # was 0 and 150: forecast outside
    low, high = ranges.bounds(np.array([50.0, 120.0, 300.0]), np.array([60.0, 130.0, 360.0]))
    np.testing.assert_array_equal(low, [0.0, 20.0, 20.0])
    np.testing.assert_array_equal(high, [60.0, 150.0, 360.0])
    scaled = replace(ranges, factor=1.5)  # no forecast shown: the binned one times the factor
    np.testing.assert_array_equal(scaled.bounds(np.array([10.0, 200.0]))[1], [15.0, 300.0])
    # a quarter of the customers spend nothing, a quarter half their forecast, half twice it:
    # every range holds the forecast (times the factor) and 80 % of what they spent
    forecast = np.arange(1.0, 3001.0)
    realized = forecast * np.array([0.0, 0.5, 2.0, 2.0])[np.arange(3000) % 4]
    for factor in (1.0, 1.3):
        ranges = fit_ranges(forecast, realized, 0.8, factor)
        low, high = ranges.bounds(forecast)
        assert (low <= forecast * factor).all() and (forecast * factor <= high).all()
        assert held_share(realized, low, high) == pytest.approx(0.8, abs=0.01)
    # the top decile is split at the 95th and 99th percentiles (30 customers each: not the 99th)
    assert len(fit_ranges(forecast, realized, 0.8).edges) == 10
    assert len(fit_ranges(np.arange(1.0, 5001.0), np.zeros(5000), 0.8).edges) == 11
    folds = fold_ranges(
        {"a": (realized[::2], forecast[::2]), "b": (realized[1::2], forecast[1::2])},
        (realized[::2], forecast[::2]),
        0.8,
        {"b": 1.3},
    )
    assert folds["b"]["coverage"] == pytest.approx(0.8, abs=0.03)


def test_next_purchase_from_own_gaps_or_the_typical_gap_and_only_where_expected():
    recency = np.array([5.0, 40.0, 10.0, 3.0])
    frequency = np.array([4, 3, 1, 2])
    gap_mean = np.array([20.0, 30.0, 10.0, 8.0])  # a one-time buyer's mean gap is its tenure
    typical = typical_repeat_gap(frequency, gap_mean)
    assert typical == 8.0  # the customer with two purchase days
    days, basis = days_to_next(recency, frequency, gap_mean, typical)
    # 20 - 5 = 15; overdue (30 - 40 < 1): one gap from now; one purchase: the typical 8 days
    # after it is 2 days overdue... so one typical gap from now; 8 - 3 = 5
    np.testing.assert_array_equal(days, [15, 30, 8, 5])
    assert list(basis) == [OWN_GAPS, OWN_GAPS, TYPICAL_GAP, OWN_GAPS]
    shown = expected_within(days, np.array([0.2, 0.4, 0.6, 0.1]), horizon_days=20)
    assert list(shown) == [True, False, False, True]  # 30 days > H; churn 0.6 >= 1/2
    customers = pd.DataFrame(
        {
            "recency_days": recency,
            "frequency": frequency,
            "gap_mean_days": gap_mean,
            "next_purchase_days": [18.0, np.nan, np.nan, 4.0],
        }
    )
    fold = fold_next_purchase(
        customers, np.array([0.2, 0.4, 0.6, 0.1]), np.array([0, 1, 1, 0]), 20, 8.0
    )
    assert fold["date_share"] == 0.5 and fold["date_right"] == 1.0 and fold["none_right"] == 1.0
    assert fold["date_error_days"] == pytest.approx(2.0)  # |15 - 18| and |5 - 4|
    assert NONE_EXPECTED == "none_expected"
