"""The tier stage's scoring (also `segml score`): movement against a previous period, and
hysteresis that keeps customers near a cut in last period's tier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.models.segment import segment_customers
from segml.tiering.periods import Period
from segml.tiering.scoring import score_customers
from tests.conftest import demo_snapshot, rule_scorers

NOVEMBER = Period("", "2025-11-30", source="test")


@pytest.fixture(scope="module")
def scored(cfg):
    snapshot = demo_snapshot(cfg, 1200, seed=3)
    churn, upside = rule_scorers(snapshot)
    segmenter = segment_customers(snapshot, cfg.segment, cfg.seed)[0]
    first = score_customers(snapshot, segmenter, churn, upside, cfg.tiering, 90)
    # the next period: every customer's 12-month value drifts by up to 3 %
    drift = np.random.default_rng(0).uniform(0.97, 1.03, len(snapshot))
    later = snapshot.assign(spend_365d=snapshot["spend_365d"] * drift)
    return cfg, first, later, (segmenter, churn, upside)


def rescore(scored, hysteresis: float):
    cfg, first, later, (segmenter, churn, upside) = scored
    tiering = dataclasses.replace(cfg.tiering, hysteresis=hysteresis)
    return score_customers(later, segmenter, churn, upside, tiering, 90, first.table, NOVEMBER)


def test_movement_names_the_period_and_marks_every_customer(scored):
    _, first, _, _ = scored
    result = rescore(scored, 0.0)
    assert result.movement["available"] and result.movement["compared_with"] == "2025-11-30 · test"
    assert set(result.table["tier_change"]) <= {"up", "down", "same", "new"}
    moved = result.table["tier"] != first.table["tier"]
    assert (result.table.loc[moved, "tier_change"] != "same").all()
    # each customer's value last period beside this one: what says why they moved
    assert result.table["previous_value"].tolist() == first.table["current_value"].tolist()
    metrics = result.metrics
    assert metrics["compared_with"] == "2025-11-30 · test"
    assert metrics["previous_as_of"] == "2025-11-30"
    counts = metrics["movement"]
    assert counts["upgrades"] + counts["downgrades"] == moved.sum()
    assert counts["changed_share"] == pytest.approx(moved.mean())
    assert counts["new_customers"] == counts["gone_customers"] == 0


def test_hysteresis_keeps_customers_near_a_cut_in_their_tier(scored):
    _, first, _, _ = scored
    strict, held = rescore(scored, 0.0), rescore(scored, 0.05)
    moved_strict = (strict.table["tier_abc"] != first.table["tier_abc"]).sum()
    moved_held = (held.table["tier_abc"] != first.table["tier_abc"]).sum()
    assert moved_strict > 0 and moved_held < moved_strict
    # nobody is held in a tier more than one step away from where the new values put them
    order = {"A": 0, "B": 1, "C": 2}
    gap = (held.table["tier_abc"].map(order) - strict.table["tier_abc"].map(order)).abs()
    assert gap.max() <= 1


def test_value_ranges_and_next_purchase_dates_per_customer(scored):
    """The range comes from the value scorer's table for the customer's own forecast; a date is
    given only where a purchase is expected within the window, from the customer's own gaps."""
    from segml.models.ranges import ValueRanges
    from segml.tiering.scoring import model_scores

    cfg, first, later, (segmenter, churn, upside) = scored
    snapshot = later.sort_values("customer_id", ignore_index=True)
    upside.ranges_ = ValueRanges(
        0.8, 0.7, np.array([100.0]), np.array([0.0, 20.0]), np.array([90.0, 400.0])
    )
    churn.typical_repeat_gap_ = 12.0
    try:
        scores = model_scores(snapshot, churn, upside, cfg.tiering, 90)
    finally:
        del upside.ranges_, churn.typical_repeat_gap_
    low_bin = snapshot["spend_90d"].to_numpy() <= 100  # the rule's forecast is last period's spend
    assert (scores.loc[low_bin, "predicted_value_p10"] == 0).all()
    predicted = scores["predicted_value"]
    high = np.maximum(400.0, predicted[~low_bin])  # a range holds the forecast shown beside it
    assert (scores.loc[~low_bin, "predicted_value_p90"] == high).all()
    assert (scores["predicted_value_p10"] <= predicted).all()
    assert (predicted <= scores["predicted_value_p90"]).all()
    dated = scores["expected_next_purchase_date"].notna()
    assert dated.any() and (~dated).any()
    assert (scores.loc[dated, "churn_probability"] < 0.5).all()
    assert (scores.loc[~dated, "next_purchase_source"] == "none_expected").all()
    days = (
        pd.to_datetime(scores.loc[dated, "expected_next_purchase_date"])
        - snapshot.loc[dated, "cutoff"]
    ).dt.days
    assert days.between(1, 90).all()
    repeat = dated & (snapshot["frequency"] >= 2)
    due = snapshot["gap_mean_days"] - snapshot["recency_days"]  # days left of the usual gap
    own = repeat & (due >= 1)
    assert (days[own] == due[own].round()).all()
    overdue = repeat & (due < 1)  # one usual gap from the cutoff
    assert (days[overdue] == snapshot.loc[overdue, "gap_mean_days"].round()).all()
    assert set(scores.loc[dated & (snapshot["frequency"] == 1), "next_purchase_source"]) <= {
        "typical_repeat_gap"
    }


def test_the_forecast_counts_the_customers_it_sums():
    """The forecast's total sums the graded customers' predicted value: its customer count is
    theirs, not the table's (customers listed without a tier have no forecast)."""
    from segml.tiering.scoring import TierResult

    table = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "tier": ["A", "B", None],
            "lifecycle_status": ["active", "at_risk", "never_bought"],
            "predicted_value": [100.0, 50.0, np.nan],
        }
    )
    summary = pd.DataFrame({"tier": ["A", "B"], "customers": [1, 1]})
    metrics = TierResult(table, {"available": False}, summary).metrics
    assert metrics["customers"] == 3
    assert metrics["forecast_total"] == 150.0 and metrics["forecast_customers"] == 2


def test_a_tiers_value_is_counted_as_every_business_view_counts_it():
    """Net spend never below 0 per customer, in the tier summary as in the report's and the
    workbook's other tables: a refund-heavy customer takes nothing from the tier's value."""
    from segml.tiering.scoring import tier_summary

    table = pd.DataFrame(
        {
            "tier": ["A", "A", "C", "C"],
            "current_value": [300.0, 100.0, 50.0, -40.0],
            "churn_probability": [0.1, 0.2, 0.5, 0.9],
            "predicted_value": [200.0, 80.0, 10.0, 0.0],
        }
    )
    summary = tier_summary(table, ["A", "B", "C"]).set_index("tier")
    assert summary["current_value"].to_dict() == {"A": 400.0, "C": 50.0}  # not 10 for C
    assert summary["value_share"].to_dict() == pytest.approx({"A": 400 / 450, "C": 50 / 450})
