"""Tier policies on hand-made tables: ties, equal values and tiny populations give stable results."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.tiering import policies as t

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


@pytest.mark.parametrize(
    "values, expected",
    [
        ([7], ["platinum"]),
        ([7, 3], ["platinum", "lead"]),
        ([9, 7, 5, 3, 1], ["platinum", "lead", "lead", "lead", "lead"]),
        ([4, 4, 4, 4, 4], ["platinum"] * 5),  # all equal: one grade, the better one
    ],
)
def test_pyramid_tiny_populations(values, expected):
    assert pyramid(values) == expected


def test_value_potential_levels():
    names = ["low", "mid", "high"]
    cuts = [1 / 3, 2 / 3]
    assert t.levels(pd.Series([1.0, 2, 3, 4, 5, 6]), cuts, names).tolist() == [
        "low",
        "low",
        "mid",
        "mid",
        "high",
        "high",
    ]
    assert t.levels(pd.Series([5.0]), cuts, names).tolist() == ["mid"]
    assert t.levels(pd.Series([2.0, 2.0, 2.0]), cuts, names).tolist() == ["mid"] * 3
    assert t.levels(pd.Series([1.0, 9.0]), cuts, names).tolist() == ["low", "high"]


def test_lifecycle_rules_in_order():
    rules = {
        "lost_after_days": 365,
        "new_within_days": 90,
        "at_risk_after_days": 120,
        "at_risk_probability": 0.7,
    }
    recency = pd.Series([400, 10, 150, 20, 20])
    tenure = pd.Series([900, 30, 800, 800, 800])
    churn = pd.Series([0.1, 0.9, 0.1, 0.8, 0.2])
    assert t.lifecycle_status(recency, tenure, churn, rules).tolist() == [
        "lost",
        "new",
        "at_risk",
        "at_risk",
        "active",
    ]


def run(ids, grades, value=None):
    return pd.DataFrame(
        {"customer_id": ids, "tier": grades, "current_value": value or [1.0] * len(ids)}
    )


def test_movement_between_two_hand_made_runs():
    """Movers are customers graded in both periods; new and gone ones are counted apart (a
    prospect listed without a tier last period is new once graded)."""
    before = run(["a", "b", "c", "d", "p"], ["A", "B", "C", "C", None], [9.0, 5, 1, 1, 0])
    after = run(["a", "b", "c", "e", "p"], ["B", "A", "C", "A", "B"], [4.0, 8, 1, 7, 3])
    move = t.movement(after, before, "tier", ["A", "B", "C"])
    matrix = move["matrix"].set_index("previous")
    assert matrix.loc["A", "B"] == 1 and matrix.loc["B", "A"] == 1 and matrix.loc["C", "C"] == 1
    assert matrix.loc["(new)", "A"] == 1 and matrix.loc["C", "(gone)"] == 1
    assert matrix.loc["(new)", "B"] == 1
    assert move["kept_share"] == pytest.approx(1 / 3)
    assert move["changed_share"] == pytest.approx(2 / 3)
    assert move["upgrades"].to_dict("records") == [
        {
            "customer_id": "b",
            "previous": "B",
            "current": "A",
            "previous_value": 5.0,
            "current_value": 8.0,
        }
    ]
    assert move["downgrades"]["customer_id"].tolist() == ["a"]
    assert move["new"]["customer_id"].tolist() == ["e", "p"]
    assert move["gone"].to_dict("records") == [
        {"customer_id": "d", "previous": "C", "previous_value": 1.0}
    ]
    assert move["counts"] == {
        "customers_in_both": 3,
        "changed_share": pytest.approx(2 / 3),
        "upgrades": 1,
        "downgrades": 1,
        "new_customers": 2,
        "gone_customers": 1,
    }
    assert t.movement(after, None, "tier", ["A", "B", "C"]) == {"available": False}


def test_hysteresis_keeps_grade_near_the_cut_only():
    current = pd.Series(["B", "B", "A"])
    previous = pd.Series(["A", "A", "A"])
    position = pd.Series([0.81, 0.90, 0.10]).to_numpy()  # ABC before-shares; the A/B cut is at .80
    kept = t.apply_hysteresis(current, previous, position, [0.80, 0.95], ["A", "B", "C"], band=0.02)
    assert kept.tolist() == [
        "A",
        "B",
        "A",
    ]  # within 2 points of the cut: stays A; far past it: moves
    assert t.apply_hysteresis(
        current, previous, position, [0.80, 0.95], ["A", "B", "C"], band=0
    ).tolist() == ["B", "B", "A"]


CUTS = [0.2, 0.4, 0.6, 0.8]


def test_rfm_score_quintiles_with_ties():
    # shares strictly worse: 0, 0, 0, .6, .8 -> all one-time buyers share F = 1
    assert t.rfm_score(pd.Series([1.0, 1, 1, 2, 3]), CUTS).tolist() == [1, 1, 1, 4, 5]
    # ten distinct values: two per quintile
    assert t.rfm_score(pd.Series(range(10), dtype=float), CUTS).tolist() == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]
    # recency: fewer days is better, the most recent score 5
    assert t.rfm_score(
        pd.Series([3.0, 300, 30, 100, 10]), CUTS, higher_is_better=False
    ).tolist() == [5, 1, 3, 2, 4]
    assert t.rfm_score(pd.Series([7.0]), CUTS).tolist() == [1]


def test_rfm_code_and_named_segments_follow_config_order(cfg):
    frame = pd.DataFrame(
        {
            "recency_days": [1.0, 2, 3, 4, 500],
            "frequency": [9.0, 1, 5, 1, 9],
            "monetary_total": [900.0, 10, 500, 20, 800],
        }
    )
    scores = t.rfm_scores(frame, cfg.tiering.rfm)
    # R (fewer days better): 5 4 3 2 1. F: the tied 9s have 3 of 5 customers strictly below them
    # (share .6 -> 4), 5 has .4 -> 3, the 1s have none -> 1. M: 900 .8 -> 5, 10 -> 1, 500 .4 -> 3,
    # 20 .2 -> 2, 800 .6 -> 4.
    assert scores["rfm_code"].tolist() == ["545", "411", "333", "212", "144"]
    active = pd.Series(["active"] * 5)
    segments = t.rfm_segments(scores, active, cfg.tiering.rfm["segments"], {})
    assert segments.tolist() == [
        "champions",
        "promising",
        "need_attention",
        "hibernating",
        "cant_lose",
    ]


def test_rfm_segment_skips_what_the_lifecycle_does_not_allow(cfg):
    scores = pd.DataFrame({"rfm_r": [1, 5, 1, 5], "rfm_f": [1, 5, 5, 1], "rfm_m": [1, 5, 5, 1]})
    scores["rfm_code"] = scores.astype(str).sum(axis=1)
    status = pd.Series(["new", "lost", "lost", "at_risk"])
    segments = t.rfm_segments(scores, status, cfg.tiering.rfm["segments"], cfg.tiering.coherence)
    # a new customer ranked last is not "lost": no allowed rule matches, so the status default
    # a lost customer with top scores is not a champion but one you can't lose
    assert segments.tolist() == ["new", "lost", "cant_lose", "at_risk"]


def test_personas_give_way_to_the_lifecycle(cfg):
    persona = pd.Series(["lost", "champions", "champions", "at_risk", "loyal"])
    status = pd.Series(["new", "lost", "at_risk", "active", "active"])
    assert t.coherent_personas(persona, status, cfg.tiering.coherence).tolist() == [
        "new",
        "lost",
        "at_risk",
        "loyal",
        "loyal",
    ]
