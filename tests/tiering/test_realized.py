"""What subscribers really did after an earlier period, on a hand-made table of spells: the
audit's realized outcomes counted the way the subscriber labels count them (coverage merged over
the grace days; a cancellation in the window is churn; recurring revenue at each spell's monthly
fee x service days / 30.4375), over the part of the horizon today's export has seen."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.features.spells import index_spells
from segml.tiering.audit import audit_metrics, audit_period
from segml.tiering.audit_record import outcome_of, rate_key
from segml.tiering.periods import Period
from segml.tiering.realized import realized_from_spells

M = 365.25 / 12  # days per month, as the value label counts them
START = "2025-09-30"  # the earlier period's as_of
ELAPSED = 46  # today's as_of 2025-11-15: the window is 2025-10-01 .. 2025-11-15
GRACE = 14


def spells() -> pd.DataFrame:
    rows = [
        ("cancels", "2025-01-01", "2025-10-21", 60.0),  # cancels inside the window
        ("later", "2025-03-01", "2025-12-31", 50.0),  # ends after today's as_of: not churned yet
        ("restarts", "2025-02-01", "2025-10-10", 40.0),  # a gap of 8 days: no departure ...
        ("restarts", "2025-10-18", None, 40.0),  # ... it runs on
        ("too_late", "2025-02-01", "2025-10-10", 30.0),  # a gap of 22 days: gone on 10-10 ...
        ("too_late", "2025-11-01", None, 30.0),  # ... though back before the window's end
        ("stays", "2024-06-01", None, 100.0),  # never cancels
        ("last_day", "2025-05-01", "2025-11-15", 20.0),  # over on the window's last day
        ("gone", "2024-01-01", "2025-08-01", 70.0),  # left before the period: listed apart then
        ("won_back", "2024-01-01", "2025-06-01", 10.0),  # left before the period ...
        ("won_back", "2025-10-15", None, 10.0),  # ... and came back in the window
        ("started", "2025-10-05", None, 90.0),  # new in the window: no grade to test
        ("future", "2025-12-01", None, 90.0),  # starts after the window: not in the table
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "start", "end", "mrr"])
    return frame.assign(
        subscription_id=range(len(frame)),
        start=pd.to_datetime(frame["start"]),
        end=pd.to_datetime(frame["end"]),
    )


@pytest.fixture(scope="module")
def realized() -> pd.DataFrame:
    got = realized_from_spells(index_spells(spells()), START, ELAPSED, GRACE)
    return got.set_index("customer_id")


def test_who_is_in_the_table_and_who_was_running(realized):
    assert "future" not in realized.index
    running = realized.index[realized["running"]].tolist()
    assert sorted(running) == ["cancels", "last_day", "later", "restarts", "stays", "too_late"]


def test_churn_over_the_elapsed_part_of_the_horizon_as_the_label_counts_it(realized):
    retained = realized["retained"].to_dict()
    assert not retained["cancels"]  # coverage ended on 10-21, inside (09-30, 11-15]
    assert retained["later"]  # still running at today's as_of: has not churned yet
    assert retained["restarts"]  # back within the grace days: the same run
    assert not retained["too_late"]  # back after 22 days: the run ended on 10-10
    assert retained["stays"]
    assert not retained["last_day"]  # an end on the window's last day is inside it
    # not running at the period's as_of: still subscribed = running again at the window's end
    assert not retained["gone"] and retained["won_back"] and retained["started"]


def test_revenue_is_recurring_revenue_in_the_window(realized):
    revenue = realized["revenue"]
    assert revenue["cancels"] == pytest.approx(20 * 60 / M)  # 10-01 .. 10-20
    assert revenue["later"] == pytest.approx(ELAPSED * 50 / M)
    assert revenue["restarts"] == pytest.approx((9 + 29) * 40 / M)  # 10-01..10-09, 10-18..11-15
    assert revenue["too_late"] == pytest.approx((9 + 15) * 30 / M)
    assert revenue["stays"] == pytest.approx(ELAPSED * 100 / M)
    assert revenue["last_day"] == pytest.approx(45 * 20 / M)
    assert revenue["gone"] == 0.0
    assert revenue["won_back"] == pytest.approx(32 * 10 / M)


def test_the_whole_horizon_once_it_has_passed():
    got = realized_from_spells(index_spells(spells()), START, 92, GRACE).set_index("customer_id")
    assert not got.loc["later", "retained"]  # its end, 12-31, is now inside the window
    assert got.loc["stays", "retained"]


# ------------------------------------------------------------ an earlier period measured on them

SEPTEMBER = Period("run-sep-1", START, horizon_days=90, active_within_days=365, policy="abc")


def subscriber_base() -> pd.DataFrame:
    """The tier table September logged: the six running subscribers graded, one who had cancelled
    and a prospect listed apart (no tier); no purchase recency."""
    rows = [
        ("stays", "A", "active", 0.05, 300.0),
        ("later", "A", "active", 0.25, 150.0),
        ("restarts", "B", "active", 0.10, 120.0),
        ("cancels", "B", "at_risk", 0.60, 60.0),
        ("too_late", "C", "at_risk", 0.30, 40.0),
        ("last_day", "C", "new", 0.20, 30.0),
        ("gone", None, "cancelled", None, None),
        ("P1", None, "never_subscribed", None, None),
    ]
    columns = ["customer_id", "tier", "lifecycle_status", "churn_probability", "predicted_value"]
    return pd.DataFrame(rows, columns=columns)


def subscriber_period() -> dict:
    """September's grades measured on 2025-11-15 (46 of 90 days observed)."""
    realized = realized_from_spells(index_spells(spells()), START, ELAPSED, GRACE)
    return audit_period(
        subscriber_base(), realized, SEPTEMBER, "2025-11-15", 90, 365, ["A", "B", "C"], [0, 0.5, 1]
    )


def test_a_subscriber_period_is_measured_on_who_stayed_subscribed():
    got = subscriber_period()
    assert not got["complete"] and got["elapsed_days"] == ELAPSED
    assert "repurchase_rate" not in got and "repurchase_rate_by_tier" not in got
    assert got["retention_rate_by_tier"] == {"A": 1.0, "B": 0.5, "C": 0.0}
    assert got["retention_rate"] == 0.5 and got["by_tier"]["B"]["retention_rate"] == 0.5
    assert list(got["by_lifecycle"]) == [
        "new",
        "active",
        "at_risk",
        "cancelled",
        "never_subscribed",
    ]
    assert got["by_lifecycle"]["cancelled"]["retention_rate"] == 0.0  # "gone" did not come back
    # churn on everyone running at the period's as_of (no purchase recency applies): 3 of 6
    # cancelled (cancels, too_late, last_day); their risks 0.6, 0.3, 0.2 against 0.25, 0.1, 0.05
    # rank 8 of the 9 pairs right
    assert got["forecast_customers"] == 6
    assert got["churn_realized"] == 0.5
    assert got["churn_roc_auc"] == pytest.approx(8 / 9)
    # value: recurring revenue in the 46 days against the fees predicted for 90
    fees = (20 * 60 + 46 * 50 + 38 * 40 + 24 * 30 + 46 * 100 + 45 * 20) / M
    assert got["realized_value_total"] == pytest.approx(fees)
    assert got["predicted_value_total"] == 700.0 and got["value_gini"] > 0
    metrics = audit_metrics({"periods": [got]})
    assert metrics["2025-09-30.retention_rate.A"] == 1.0
    assert not any("repurchase" in k for k in metrics)
    assert rate_key(got) == "retention_rate" and outcome_of(got) == "retained"


def test_both_exports_subscribers_by_their_spells_the_others_by_their_purchases():
    """`data.kind: both`: `stays` (running) bought 25 in the window: stayed, revenue = fees + 25;
    `gone` (cancelled before the period) bought in the window: a buyer who stayed; `buyer` bought
    in the year before and not since: in the population, left; `old` bought long ago: outside."""
    from segml.tiering.realized import realized_from_both

    tx = pd.DataFrame(
        {
            "customer_id": ["stays", "gone", "buyer", "old"],
            "ts": pd.to_datetime(["2025-10-20", "2025-10-02", "2025-03-01", "2023-01-01"]),
            "amount": [25.0, 40.0, 10.0, 5.0],
        }
    )
    found = realized_from_both(index_spells(spells()), tx, START, ELAPSED, GRACE, 365)
    found = found.set_index("customer_id")
    fees = realized_from_spells(index_spells(spells()), START, ELAPSED, GRACE).set_index(
        "customer_id"
    )
    assert found.loc["stays", "stayed"] and found.loc["stays", "running"]
    assert found.loc["stays", "revenue"] == pytest.approx(fees.loc["stays", "revenue"] + 25.0)
    assert not found.loc["cancels", "stayed"] and found.loc["cancels", "running"]
    assert found.loc["gone", "stayed"] and not found.loc["gone", "running"]  # bought, not recent
    assert found.loc["gone", "revenue"] == 40.0
    assert not found.loc["buyer", "stayed"] and found.loc["buyer", "running"]
    assert "old" not in found.index and "won_back" not in found.index  # not running, no purchase
    assert (
        outcome_of({"stay_rate": 0.5}) == "stayed" and rate_key({"stay_rate": 0.5}) == "stay_rate"
    )


def both_period() -> dict:
    """A both project's audited period: the subscribers of `subscriber_period` and two buyers."""
    from segml.tiering.realized import realized_from_both

    tx = pd.DataFrame(
        {
            "customer_id": ["stays", "buyer", "loyal"],
            "ts": pd.to_datetime(["2025-10-20", "2025-03-01", "2025-10-03"]),
            "amount": [25.0, 10.0, 30.0],
        }
    )
    tx = pd.concat(
        [tx, pd.DataFrame({"customer_id": ["loyal"], "ts": pd.to_datetime(["2025-09-01"]),
                           "amount": [5.0]})],
        ignore_index=True,
    )  # fmt: skip
    base = subscriber_base().assign(
        churn_kind=lambda f: f["tier"].map(lambda t: "cancels_subscription" if t else None)
    )
    buyers = pd.DataFrame(
        {
            "customer_id": ["buyer", "loyal"],
            "tier": ["C", "B"],
            "lifecycle_status": ["at_risk", "active"],
            "churn_probability": [0.7, 0.2],
            "predicted_value": [10.0, 40.0],
            "churn_kind": ["stops_buying", "stops_buying"],
        }
    )
    base = pd.concat([base, buyers], ignore_index=True)
    realized = realized_from_both(index_spells(spells()), tx, START, ELAPSED, GRACE, 365)
    return audit_period(
        base, realized, SEPTEMBER, "2025-11-15", 90, 365, ["A", "B", "C"], [0, 0.5, 1]
    )


def test_a_both_exports_period_is_measured_over_both_parts_and_per_part():
    got = both_period()
    # subscribers: stays, later, restarts stayed (3 of 6); buyers: loyal bought again, buyer not
    assert got["stay_rate"] == pytest.approx(4 / 8)
    parts = got["by_churn_kind"]
    assert parts["cancels_subscription"]["stay_rate"] == 0.5
    assert parts["cancels_subscription"]["churn_roc_auc"] == pytest.approx(8 / 9)
    assert parts["stops_buying"]["stay_rate"] == 0.5 and parts["stops_buying"]["customers"] == 2
    assert parts["stops_buying"]["churn_roc_auc"] == 1.0  # the riskier one left
    metrics = audit_metrics({"periods": [got]})
    assert metrics["2025-09-30.stops_buying.stay_rate"] == 0.5
    assert metrics["2025-09-30.cancels_subscription.churn_roc_auc"] == pytest.approx(8 / 9)
