"""The call list: at-risk customers only, the most value at stake first (ties by id), at most the
cap, with the last purchase date; figures worked out by hand."""

from __future__ import annotations

import pandas as pd

from segml.reporting.call_list import call_list


def customers() -> pd.DataFrame:
    # value at stake = churn probability x current value (never below 0):
    # c1 0.5 x 1,000 = 500; c2 0.9 x 100 = 90; c3 0.2 x 3,000 = 600; c4 is active;
    # c5 0.6 x -50 -> 0; c6 0.25 x 2,000 = 500 (ties with c1: c1 first by id)
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6"],
            "as_of": "2025-12-31",
            "lifecycle_status": ["at_risk", "at_risk", "at_risk", "active", "at_risk", "at_risk"],
            "churn_probability": [0.5, 0.9, 0.2, 0.99, 0.6, 0.25],
            "current_value": [1000.0, 100.0, 3000.0, 9000.0, -50.0, 2000.0],
            "recency_days": [30.0, 1.0, 365.0, 0.0, 59.0, 31.0],
            "tier": ["A", "C", "A", "A", "C", "B"],
        }
    )


def test_call_list_ranks_at_risk_customers_by_value_at_stake():
    calls = call_list(customers(), cap=None)
    rows = calls.rows
    assert rows["customer_id"].tolist() == ["c3", "c1", "c6", "c2", "c5"]
    assert rows["value_at_stake"].tolist() == [600.0, 500.0, 500.0, 90.0, 0.0]
    assert rows["rank"].tolist() == [1, 2, 3, 4, 5] and calls.at_risk == 5
    assert rows["last_purchase_date"].tolist() == [
        "2024-12-31",
        "2025-12-01",
        "2025-11-30",
        "2025-12-30",
        "2025-11-02",
    ]
    assert list(rows.columns[:3]) == ["rank", "customer_id", "tier"]


def test_call_list_stops_at_the_cap_and_counts_everyone_at_risk():
    calls = call_list(customers(), cap=2)
    assert calls.rows["customer_id"].tolist() == ["c3", "c1"] and calls.at_risk == 5


def test_call_list_uses_the_tables_value_at_stake_and_keeps_optional_columns():
    table = customers().assign(
        value_at_stake=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        expected_next_purchase_date=["2026-01-05", None, None, None, None, "2026-02-01"],
    )
    rows = call_list(table, cap=None).rows
    assert rows["customer_id"].tolist() == ["c6", "c5", "c3", "c2", "c1"]
    assert rows["expected_next_purchase_date"].tolist()[0] == "2026-02-01"
    assert "expected_next_purchase_date" not in call_list(customers(), None).rows


def test_call_list_is_empty_without_lifecycle_statuses():
    calls = call_list(customers()[["customer_id", "tier"]], cap=10)
    assert calls.rows.empty and calls.at_risk == 0


def test_call_list_says_which_churn_a_probability_means_when_a_table_has_both_kinds():
    both = customers().assign(
        churn_kind_en=["cancels subscription", "stops buying"] * 3,
        churn_kind_zh=["退订", "停止购买"] * 3,
    )
    rows = call_list(both, cap=None).rows
    assert list(rows.columns[:5]) == [
        "rank",
        "customer_id",
        "tier",
        "churn_kind_zh",
        "churn_kind_en",
    ]
    assert rows.set_index("customer_id").loc["c2", "churn_kind_en"] == "stops buying"
    assert "churn_kind_en" not in call_list(customers(), None).rows  # one kind: nothing to say


def test_subscribers_behind_on_their_payment_are_called_too():
    """Past-due subscribers are the likeliest to cancel: the list holds them beside those at risk
    (the purchase statuses have no past due, so a buyers' list is as before)."""
    table = customers().assign(
        lifecycle_status=["at_risk", "past_due", "trial", "active", "new", "past_due"]
    )
    calls = call_list(table, cap=None)
    assert calls.rows["customer_id"].tolist() == ["c1", "c6", "c2"]  # 500, 500, 90
    assert calls.at_risk == 3


def test_value_at_stake_is_worded_for_what_the_table_counts():
    from segml.reporting.call_list import value_words

    buyers = customers()
    subscribers = buyers.assign(mrr=10.0)
    both = subscribers.assign(churn_kind="cancels_subscription")
    assert [value_words(t) for t in (buyers, subscribers, both)] == ["", "_recurring", "_both"]
