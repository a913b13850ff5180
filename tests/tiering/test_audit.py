"""The audit on hand-made tables: what really happened to an earlier period's customers, per tier
and status, the forecasts against it, and stability between periods (figures computed by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.tiering.audit import (
    audit_metrics,
    audit_period,
    calibration_bands,
    psi,
    stability,
)
from segml.tiering.periods import Period
from segml.tiering.realized import realized_from_transactions
from tests.conftest import tx_frame

SEPTEMBER = Period("run-sep-1", "2025-09-30", horizon_days=90, active_within_days=365, policy="abc")


def test_realized_counts_the_days_after_the_period_as_labels_do():
    tx = tx_frame(
        [
            ("a", "2025-09-30 18:00", 50),  # on the period's own day: before the window
            ("a", "2025-10-01", 100),
            ("a", "2025-10-20", -30),  # a refund lowers revenue, is not a purchase
            ("b", "2025-11-15", -20),  # refunds only: revenue, no repurchase
            ("c", "2025-12-29 23:00", 70),  # the window's last day (30 + 90 days)
            ("d", "2025-12-30", 80),  # after it
        ]
    )
    got = realized_from_transactions(tx, "2025-09-30", 90).set_index("customer_id")
    assert got.loc["a"].tolist() == [True, 70.0]
    assert got.loc["b"].tolist() == [False, -20.0]
    assert got.loc["c"].tolist() == [True, 70.0]
    assert "d" not in got.index
    # partly elapsed: only the first 20 days
    assert realized_from_transactions(tx, "2025-09-30", 20).set_index("customer_id").loc[
        "a", "revenue"
    ] == pytest.approx(70.0)


def _base() -> pd.DataFrame:
    """Six graded customers and a prospect; the last customer bought over a year before."""
    return pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "4", "5", "6", "P1"],
            "tier": ["A", "A", "B", "C", "C", "C", None],
            "lifecycle_status": [
                "active",
                "active",
                "active",
                "at_risk",
                "lost",
                "lost",
                "never_bought",
            ],
            "churn_probability": [0.05, 0.15, 0.4, 0.8, 0.9, 0.95, np.nan],
            "predicted_value": [300.0, 200.0, 100.0, 20.0, 10.0, 5.0, np.nan],
            "recency_days": [10, 20, 50, 150, 300, 500, np.nan],
        }
    )


def test_an_earlier_periods_grades_measured_against_what_happened():
    realized = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "5", "P1"],
            "repurchased": [True, True, False, True, True],
            "revenue": [400.0, 100.0, -10.0, 50.0, 30.0],
        }
    )
    got = audit_period(
        _base(), realized, SEPTEMBER, "2025-12-31", 90, 365, ["A", "B", "C"], [0, 0.5, 1]
    )
    assert got["complete"] and got["elapsed_days"] == 90 and got["window_end"] == "2025-12-29"
    assert got["repurchase_rate_by_tier"] == {"A": 1.0, "B": 0.0, "C": pytest.approx(1 / 3)}
    assert got["by_tier"]["A"] == {
        "customers": 2,
        "repurchase_rate": 1.0,
        "revenue": 500.0,
        "revenue_share": pytest.approx(500 / 540),
    }
    # the prospect who bought counts in its lifecycle status, not in a tier
    assert got["customers"] == 6 and got["by_lifecycle"]["never_bought"]["repurchase_rate"] == 1.0
    assert list(got["by_lifecycle"]) == ["active", "at_risk", "lost", "never_bought"]
    # churn on the models' population (bought within 365 days: not customer 6): churned = 3, 4
    assert got["forecast_customers"] == 5
    # risks of the churned (0.4, 0.8) against the others (0.05, 0.15, 0.9): 4 of 6 pairs right
    assert got["churn_roc_auc"] == pytest.approx(4 / 6)
    assert got["churn_realized"] == pytest.approx(2 / 5)
    assert [b["customers"] for b in got["calibration"]] == [3, 2]
    assert got["calibration"][1] == {
        "low": 0.5,
        "high": 1.0,
        "customers": 2,
        "predicted": pytest.approx(0.85),
        "realized": 0.5,
    }
    # value: spend clipped at zero as the model learns it; the totals on every graded customer,
    # as the period's own forecast total counts them (customer 6's 5 too): 635 against 550 spent
    assert got["predicted_value_total"] == 635.0 and got["realized_value_total"] == 550.0
    assert got["forecast_within_days"] == 365
    assert 0 < got["value_gini"] <= 1


def test_a_period_whose_horizon_has_not_all_passed_is_partly_audited():
    realized = pd.DataFrame({"customer_id": ["1"], "repurchased": [True], "revenue": [10.0]})
    got = audit_period(_base(), realized, SEPTEMBER, "2025-11-15", 90, 365, ["A", "B", "C"], [0, 1])
    assert not got["complete"] and got["elapsed_days"] == 46 and got["window_end"] == "2025-11-15"


def test_calibration_bands_hold_every_probability_once():
    p = np.array([0.0, 0.1, 0.49, 0.5, 1.0])
    y = np.array([0, 0, 1, 1, 1.0])
    bands = calibration_bands(y, p, [0.0, 0.5, 1.0])
    assert [b["customers"] for b in bands] == [3, 2]  # 1.0 falls in the last band
    assert bands[0]["realized"] == pytest.approx(1 / 3)


def test_psi_is_zero_for_the_same_population_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    before = pd.Series(rng.normal(0, 1, 5000))
    assert psi(before, before) == pytest.approx(0.0)
    assert psi(before, pd.Series(rng.normal(0, 1, 5000))) < 0.02
    assert psi(before, pd.Series(rng.normal(1, 1, 5000))) > 0.25
    # hand-computed: two bins (median cut), half and half against 80 % / 20 %
    two = psi(pd.Series([0, 0, 1, 1]), pd.Series([0] * 8 + [1] * 2), bins=2)
    assert two == pytest.approx((0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5))
    # a step-shaped probability whose steps moved a little: no shift in fixed bands
    steps = pd.Series(np.repeat([0.1012, 0.3011, 0.7013], [500, 300, 200]))
    moved = pd.Series(np.repeat([0.1009, 0.3008, 0.7010], [500, 300, 200]))
    assert psi(steps, moved, 10) > 1  # quantile cuts sit on the steps
    assert psi(steps, moved, edges=[0, 0.25, 0.5, 0.75, 1]) == pytest.approx(0.0)


def test_stability_between_periods_flags_drift_over_the_warning():
    earlier = pd.DataFrame(
        {"customer_id": list("abcd"), "tier_abc": ["A", "B", "C", "C"], "spend": [1, 2, 3, 4]}
    )
    later = pd.DataFrame(
        {"customer_id": list("abce"), "tier_abc": ["A", "C", "C", "B"], "spend": [9, 9, 9, 9]}
    )
    got = stability(earlier, later, "tier_abc", ["A", "B", "C"], ["spend", "missing"], 4, 0.25)
    assert got["changed_share"] == pytest.approx(1 / 3)  # b went from B to C; a and c stayed
    assert got["transitions"]["B"]["C"] == 1 and got["transitions"]["C"]["(gone)"] == 1
    assert got["transitions"]["(new)"]["B"] == 1
    assert got["drift"] == ["spend"] and set(got["psi"]) == {"spend"}


def test_audit_metrics_are_flat_numbers_named_by_period():
    audit = {
        "periods": [
            {
                "as_of": "2025-09-30",
                "churn_roc_auc": 0.8,
                "value_gini": float("nan"),
                "elapsed_days": 90,
                "matched_share": 1.0,
                "repurchase_rate_by_tier": {"A": 0.9, "C": 0.2},
            }
        ],
        "stability": [{"psi": {"x": 0.1, "y": 0.3}, "drift": ["y"]}],
    }
    assert audit_metrics(audit) == {
        "2025-09-30.churn_roc_auc": 0.8,
        "2025-09-30.matched_share": 1.0,
        "2025-09-30.elapsed_days": 90.0,
        "2025-09-30.repurchase_rate.A": 0.9,
        "2025-09-30.repurchase_rate.C": 0.2,
        "psi_max": 0.3,
        "drift_columns": 1.0,
    }
