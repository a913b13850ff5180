"""One tier table of two parts (`data.kind: both`), on hand-made part tables: value tiers over
everyone (money compared with money), each part's churn kind in words, each part's statuses and
actions kept, movement over the combined table, customers listed apart once."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.tiering import policies as t
from segml.tiering.combined import combine_parts
from segml.tiering.scoring import TierResult
from segml.tiering.seams import SUBSCRIPTION_SEAMS, TRANSACTION_SEAMS


def part(ids, values, statuses, tiers):
    table = pd.DataFrame(
        {
            "customer_id": ids,
            "as_of": "2025-12-31",
            "current_value": values,
            "predicted_value": [v / 2 for v in values],
            "churn_probability": [0.1] * len(ids),
            "lifecycle_status": statuses,
            "churn_band": ["low"] * len(ids),
            "tier": tiers,
            "tier_abc": tiers,
        }
    )
    return TierResult(table, {"available": False}, pd.DataFrame())


@pytest.fixture()
def parts():
    # alone, each part's best customer is an A; together the subscriber S1 holds 3000 of 3610
    subscribers = part(["S1", "S2"], [3000.0, 100.0], ["active", "past_due"], ["A", "C"])
    buyers = part(["B1", "B2"], [500.0, 10.0], ["active", "at_risk"], ["A", "C"])
    return {
        "subscriptions": (subscribers, SUBSCRIPTION_SEAMS),
        "transactions": (buyers, TRANSACTION_SEAMS),
    }


def test_value_tiers_are_cut_over_both_parts_and_each_row_says_its_churn(cfg, parts):
    result = combine_parts(parts, cfg.tiering)
    table = result.table.set_index("customer_id")
    values = pd.Series([3000.0, 100.0, 500.0, 10.0], index=["S1", "S2", "B1", "B2"])
    abc = cfg.tiering.abc
    expected = t.abc_tiers(
        values, pd.Series(values.index, index=values.index), abc["labels"], abc["cumulative_shares"]
    )
    # A: who comes before 80 % of the value is reached; S1 alone holds 83 % (3000 of 3610), so
    # B1 (A among buyers alone) comes after it: B; S2 after 97 %: C
    assert table["tier_abc"].to_dict() == expected.to_dict() == {
        "S1": "A", "B1": "B", "S2": "C", "B2": "C"
    }  # fmt: skip
    assert table["churn_kind"].to_dict() == {
        "B1": "stops_buying", "B2": "stops_buying",
        "S1": "cancels_subscription", "S2": "cancels_subscription",
    }  # fmt: skip
    assert table.loc["S1", "churn_kind_zh"] == "退订" and table.loc["B1", "churn_kind_en"] == (
        "stops buying"
    )
    assert table["lifecycle_status"].to_dict()["S2"] == "past_due"  # each part's own status
    summary = result.summary.set_index("tier")["customers"].to_dict()
    assert summary == {"A": 1, "B": 1, "C": 2}


def test_actions_follow_the_combined_tier_and_each_parts_statuses(cfg, parts):
    table = combine_parts(parts, cfg.tiering).table.set_index("customer_id")
    actions = cfg.tiering.actions
    assert table.loc["B1", "action_en"] == actions["abc"]["B"]["en"]
    past_due = cfg.tiering.lifecycle_subscription["actions"]["past_due"]["en"]
    assert table.loc["S2", "lifecycle_action_en"] == past_due
    assert table.loc["B2", "lifecycle_action_en"] == actions["lifecycle"]["at_risk"]["en"]


def test_movement_is_over_the_combined_table(cfg, parts):
    previous = pd.DataFrame(
        {
            "customer_id": ["S1", "B1", "X9"],
            "tier_abc": ["A", "A", "B"],
            "tier": ["A", "A", "B"],
            "current_value": [2900.0, 450.0, 5.0],
        }
    )
    result = combine_parts(parts, cfg.tiering, previous)
    table = result.table.set_index("customer_id")
    assert result.movement["available"]
    assert table.loc["B1", "tier_change"] == "down" and table.loc["S1", "tier_change"] == "same"
    assert table.loc["S2", "tier_change"] == "new"


def test_customers_listed_apart_appear_once_with_a_status_and_no_churn_kind(cfg, parts):
    listed = pd.DataFrame(
        {
            "customer_id": ["P1", "B1"],  # B1 cancelled a subscription but buys: graded
            "status": ["never_bought", "cancelled"],
            "rejected_rows": [0, 0],
            "reject_reasons": ["", ""],
            "in_customer_table": [True, True],
        }
    )
    table = combine_parts(parts, cfg.tiering, listed_apart=listed).table
    assert table["customer_id"].tolist() == ["B1", "B2", "P1", "S1", "S2"]
    p1 = table.set_index("customer_id").loc["P1"]
    assert p1["lifecycle_status"] == "never_bought" and pd.isna(p1["churn_kind"])
    assert pd.isna(p1["tier"])
