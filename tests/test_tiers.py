"""Tier policies on hand-made tables: ties, equal values and tiny populations give stable results."""

from __future__ import annotations

import pandas as pd
import pytest

from segml import tiers as t

ABC = (["A", "B", "C"], [0.80, 0.95])
PYRAMID = (["platinum", "gold", "iron", "lead"], [0.01, 0.04, 0.15, 0.80])


def frame(values: list[float]) -> tuple[pd.Series, pd.Series]:
    ids = pd.Series([f"c{i}" for i in range(len(values))])
    return pd.Series(values, dtype=float), ids


def abc(values):
    v, ids = frame(values)
    return t.abc_tiers(v, ids, *ABC).tolist()


def pyramid(values):
    v, ids = frame(values)
    return t.pyramid_tiers(v, ids, *PYRAMID).tolist()


def test_abc_by_cumulative_value_share():
    # shares before each customer (best first): 0, .5, .75, .9 -> A A A B ; zero value -> C
    assert abc([100, 50, 30, 20, 0]) == ["A", "A", "A", "B", "C"]
    # a customer whose better-ranked peers already hold 80 % is no longer A
    assert abc([50, 30, 10, 10]) == ["A", "A", "B", "B"]  # before-shares 0, .5, .8, .9


def test_abc_ties_share_the_better_grade_and_input_order_does_not_matter():
    assert abc([10] * 10) == ["A"] * 10  # all equal: everyone shares the top grade
    # before-shares 0, .5, .75, .85, .95: the second 10 alone would be B; its tie lifts it to A
    assert abc([50, 25, 10, 10, 5]) == ["A", "A", "A", "A", "C"]
    assert abc([10, 5, 50, 10, 25]) == ["A", "C", "A", "A", "A"]


def test_abc_tiny_and_degenerate_populations():
    assert abc([]) == []
    assert abc([5]) == ["A"]
    assert abc([5, 1]) == ["A", "B"]  # before-shares 0 and 5/6 = .83
    assert abc([0, 0]) == ["C", "C"]  # nobody has positive value
    assert abc([-3, 4]) == ["C", "A"]  # net refunds never make a grade


def test_pyramid_shares_of_customers():
    grades = pyramid(list(range(100, 0, -1)))
    assert grades.count("platinum") == 1 and grades.count("gold") == 4
    assert grades.count("iron") == 15 and grades.count("lead") == 80
    assert grades[0] == "platinum" and grades[-1] == "lead"


@pytest.mark.parametrize("values, expected", [
    ([7], ["platinum"]),
    ([7, 3], ["platinum", "lead"]),
    ([9, 7, 5, 3, 1], ["platinum", "lead", "lead", "lead", "lead"]),
    ([4, 4, 4, 4, 4], ["platinum"] * 5),  # all equal: one grade, the better one
])
def test_pyramid_tiny_populations(values, expected):
    assert pyramid(values) == expected


def test_value_potential_levels():
    names = ["low", "mid", "high"]
    cuts = [1 / 3, 2 / 3]
    assert t.levels(pd.Series([1.0, 2, 3, 4, 5, 6]), cuts, names).tolist() == ["low", "low", "mid", "mid", "high", "high"]
    assert t.levels(pd.Series([5.0]), cuts, names).tolist() == ["mid"]
    assert t.levels(pd.Series([2.0, 2.0, 2.0]), cuts, names).tolist() == ["mid"] * 3
    assert t.levels(pd.Series([1.0, 9.0]), cuts, names).tolist() == ["low", "high"]


def test_lifecycle_rules_in_order():
    rules = {"lost_after_days": 365, "new_within_days": 90, "at_risk_after_days": 120, "at_risk_probability": 0.7}
    recency = pd.Series([400, 10, 150, 20, 20])
    tenure = pd.Series([900, 30, 800, 800, 800])
    churn = pd.Series([0.1, 0.9, 0.1, 0.8, 0.2])
    assert t.lifecycle_status(recency, tenure, churn, rules).tolist() == ["lost", "new", "at_risk", "at_risk", "active"]


def run(ids, grades, value=None):
    return pd.DataFrame({"customer_id": ids, "tier": grades, "current_value": value or [1.0] * len(ids)})


def test_movement_between_two_hand_made_runs():
    before = run(["a", "b", "c", "d"], ["A", "B", "C", "C"])
    after = run(["a", "b", "c", "e"], ["B", "A", "C", "A"])
    move = t.movement(after, before, "tier", ["A", "B", "C"])
    matrix = move["matrix"].set_index("previous")
    assert matrix.loc["A", "B"] == 1 and matrix.loc["B", "A"] == 1 and matrix.loc["C", "C"] == 1
    assert matrix.loc["(new)", "A"] == 1 and matrix.loc["C", "(gone)"] == 1
    assert move["kept_share"] == pytest.approx(1 / 3)
    assert move["upgrades"]["customer_id"].tolist() == ["b"]
    assert move["downgrades"]["customer_id"].tolist() == ["a"]
    assert t.movement(after, None, "tier", ["A", "B", "C"]) == {"available": False}


def test_hysteresis_keeps_grade_near_the_cut_only():
    current = pd.Series(["B", "B", "A"])
    previous = pd.Series(["A", "A", "A"])
    position = pd.Series([0.81, 0.90, 0.10]).to_numpy()  # ABC before-shares; the A/B cut is at .80
    kept = t.apply_hysteresis(current, previous, position, [0.80, 0.95], ["A", "B", "C"], band=0.02)
    assert kept.tolist() == ["A", "B", "A"]  # within 2 points of the cut: stays A; far past it: moves
    assert t.apply_hysteresis(current, previous, position, [0.80, 0.95], ["A", "B", "C"], band=0).tolist() == \
        ["B", "B", "A"]
