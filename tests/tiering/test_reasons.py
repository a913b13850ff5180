"""Reasons said from what the customer did: behaviour groups, phrases that read right in the
driver's direction, hand-computed texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.models.scorers import ChurnModel
from segml.tiering.attribution import Grouping, Guide, group_contributions
from segml.tiering.behaviour import behaviour_facts, with_percentiles
from segml.tiering.reasons import (
    Condition,
    ReasonBook,
    Template,
    feature_label,
    phrase_reasons,
)


@pytest.fixture(scope="module")
def book(cfg):
    return ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)


def snapshot(**columns) -> pd.DataFrame:
    """One row per customer with the behaviour columns reasons read (defaults: a regular buyer)."""
    n = len(next(iter(columns.values())))
    base = {
        "customer_id": [f"c{i}" for i in range(n)],
        "cutoff": pd.Timestamp("2025-12-31"),
        "recency_days": 10.0,
        "frequency": 5.0,
        "n_orders": 6.0,
        "gap_mean_days": 20.0,
        "gap_std_days": 4.0,
        "tenure_days": 400.0,
        "monetary_total": 1000.0,
        "gross_spend": 1000.0,
        "avg_order_value": 166.0,
        "refund_rate": 0.0,
        "spend_90d": 300.0,
        "spend_180d": 500.0,
        "spend_365d": 900.0,
        "purchase_days_90d": 2.0,
        "purchase_days_180d": 3.0,
        "purchase_days_365d": 5.0,
        "channel_share__官网": 0.7,
        "channel_share__门店": 0.3,
    }
    return pd.DataFrame({**base, **columns}, index=range(n))


# other customers' 12-month spend, purchase days and tenure, that a customer is ranked against
RANKS = {
    "value_spend": np.array([100.0, 500.0, 1000.0, 2000.0]),
    "frequency": np.array([1.0, 2.0, 8.0, 20.0]),
    "tenure_days": np.array([30.0, 200.0, 600.0, 900.0]),
}


def texts(book, snap, contributions: dict, target: str) -> dict:
    """Reasons from hand-set group contributions ({group key: per customer})."""
    matrix = np.zeros((len(snap), len(book.groups)))
    for key, values in contributions.items():
        matrix[:, book.keys().index(key)] = values
    facts = with_percentiles(behaviour_facts(snap, 90, 365, 90), RANKS)
    return {k: list(v) for k, v in phrase_reasons(matrix, facts, book, target).items()}


def test_the_gap_is_said_against_the_customers_usual_gap(book):
    snap = snapshot(recency_days=[58.0, 30.0, 12.0, 200.0], frequency=[5.0, 5.0, 5.0, 1.0])
    out = texts(book, snap, {"gap": [1.0, -1.0, -1.0, 1.0]}, "churn")
    assert out["en"] == [
        "raises risk: no purchase for 58 days (usually every 20)",
        "lowers risk: due for the next purchase: 30 days since the last, usually every 20",
        "lowers risk: last purchase 12 days ago, within their usual gap of 20 days",
        "raises risk: one purchase only, 200 days ago, none since",
    ]
    assert out["zh"][0] == "推高流失风险：已58天未购买（通常每20天一次）"


def test_being_due_raises_value_and_a_long_gap_never_does(book):
    # customer 0 is due (30 days, usually 20): says so; customer 1 stopped (200 days): the gap is
    # not a reason to expect more value, so the next behaviour that reads right takes its place
    snap = snapshot(recency_days=[30.0, 200.0], purchase_days_90d=[2.0, 0.0])
    out = texts(book, snap, {"gap": [2.0, 2.0], "spend": [0.5, 0.5]}, "value")
    assert out["en"][0] == (
        "raises value: due for the next purchase: 30 days since the last, usually every 20; "
        "spent ¥900 in the last 365 days, more than 50% of customers"
    )
    assert (
        out["en"][1] == "raises value: spent ¥900 in the last 365 days, more than 50% of customers"
    )


def test_spend_frequency_and_tenure_are_said_against_other_customers(book):
    # a big, frequent, long-standing customer never reads "raises risk" for them; a small, new
    # one never reads "lowers risk"
    snap = snapshot(
        spend_365d=[1500.0, 150.0],
        frequency=[10.0, 2.0],
        n_orders=[12.0, 2.0],
        tenure_days=[800.0, 100.0],
    )
    raising = texts(
        book, snap, {"spend": [1.0, 1.0], "frequency": [0.9, 0.9], "tenure": [0.8, 0.8]}, "churn"
    )
    assert raising["en"] == [
        "last purchase 10 days ago; usually every 20 days",  # nothing reads right: plain facts
        "raises risk: spent ¥150 in the last 365 days, less than half of customers do; only 2 "
        "orders on 2 days since 2025-09-22; customer only since 2025-09-22",
    ]
    lowering = texts(book, snap, {"spend": [-1.0, -1.0], "tenure": [-0.8, -0.8]}, "churn")
    assert lowering["en"][0] == (
        "lowers risk: spent ¥1,500 in the last 365 days, more than 75% of customers; customer "
        "since 2023-10-23, longer than most"
    )


def test_recent_buying_is_compared_with_the_window_before(book):
    snap = snapshot(
        spend_90d=[120.0, 0.0, 450.0],
        spend_180d=[900.0, 340.0, 600.0],
        purchase_days_90d=[1.0, 0.0, 3.0],
        purchase_days_180d=[5.0, 2.0, 4.0],
        recency_days=[40.0, 100.0, 5.0],
    )
    out = texts(book, snap, {"recent": [1.0, 1.0, 1.0]}, "churn")
    assert out["en"] == [
        "raises risk: buying less: ¥120 on 1 day in the last 90 days, against ¥780 on 4 days in "
        "the 90 before",
        "raises risk: no purchase in the last 90 days, after 2 purchase days (¥340) in the 90 before",
        # buying more raises no risk: no behaviour reads right, so the plain facts, no direction
        "last purchase 5 days ago; usually every 20 days",
    ]


def test_directions_group_and_the_strongest_comes_first(book):
    snap = snapshot(recency_days=[58.0], refund_rate=[0.25], gross_spend=[1200.0])
    snap["monetary_total"] = [900.0]
    out = texts(book, snap, {"gap": [0.2], "refunds": [0.5], "channel": [-0.3]}, "churn")
    assert out["en"] == [
        "raises risk: returned ¥300 (25% of spend); no purchase for 58 days (usually every 20) · "
        "lowers risk: buys mostly via 官网 (70% of spend)"
    ]
    assert out["zh"] == [
        "推高流失风险：退款¥300（占消费25%）；已58天未购买（通常每20天一次） · "
        "降低流失风险：主要通过官网购买（占消费70%）"
    ]


def test_weak_groups_are_left_out_but_the_strongest_usable_stays(book):
    snap = snapshot(recency_days=[58.0])
    out = texts(book, snap, {"gap": [0.001], "channel": [1.0], "tenure": [0.02]}, "churn")
    # tenure carries 2 % of the drivers (< min_share 5 %): not named; the gap is tiny too
    assert out["en"] == ["raises risk: buys mostly via 官网 (70% of spend)"]


def test_another_models_output_counts_as_the_behaviour_it_summarises(cfg, book):
    # churn learnt from BG/NBD's P(no purchase) alone: the reason names days since the last purchase
    rng = np.random.default_rng(0)
    n = 2000
    recency = rng.integers(0, 400, n).astype(float)
    frame = snapshot(recency_days=recency).assign(
        bgnbd_p_no_purchase=1 / (1 + np.exp(-(recency - 150) / 40)),
        churned=(rng.random(n) < 1 / (1 + np.exp(-(recency - 150) / 40))).astype(int),
    )
    frame = frame.drop(columns=[c for c in frame if c.startswith(("spend", "purchase", "chan"))])
    model = ChurnModel(
        {"num_leaves": 7}, n_estimators=50, early_stopping_rounds=10, calibration="none"
    )
    model.fit(frame[["customer_id", "bgnbd_p_no_purchase", "churned"]])
    rows = frame.iloc[[int(np.argmax(recency))]]
    matrix = group_contributions(model, rows, np.ones(1, dtype=bool), "churn", book, Guide())
    out = phrase_reasons(matrix, behaviour_facts(rows, 90, 365, 90), book, "churn")
    assert (
        out["en"][0]
        == f"raises risk: no purchase for {rows['recency_days'].iloc[0]:,.0f} days (usually every 20)"
    )
    assert "%" not in out["en"][0] and "概率" not in out["zh"][0]


def test_a_product_feature_is_shared_by_how_far_each_factor_is_from_typical(book):
    guide = Guide(typical={"bgnbd_expected_purchases": 0.0, "gg_expected_spend": np.log(100.0)})
    grouping = Grouping(["bgnbd_expected_value"], book, guide)
    frame = pd.DataFrame(
        # expected purchases e^-3 (far below typical 1), spend per purchase e^1 x typical
        {"bgnbd_expected_purchases": [np.exp(-3.0)], "gg_expected_spend": [100.0 * np.e]}
    )
    out = np.zeros((1, len(book.groups)))
    grouping.add(out, "bgnbd_expected_value", np.array([-2.0]), frame)
    assert out[0, book.keys().index("gap")] == pytest.approx(-1.5)
    assert out[0, book.keys().index("spend")] == pytest.approx(-0.5)


def test_every_phrase_names_no_model_output(cfg):
    words = ("chance", "probab", "expected", "likely", "predict", "pattern", "model")
    for group in cfg.tiering.reasons["groups"]:
        for phrase in group.get("phrases", []):
            assert not any(w in phrase["en"].lower() for w in words), phrase["en"]
            assert not any(w in phrase["zh"] for w in ("概率", "预计", "预测", "规律", "模型"))


def test_conditions_compare_facts_with_numbers_or_facts():
    snap = snapshot(recency_days=[30.0, 100.0])
    facts = behaviour_facts(snap, 90, 365, 90)
    assert Condition.parse("recency_days <= horizon_days").mask(facts).tolist() == [True, False]
    assert Condition.parse("gap_ratio > 2").mask(facts).tolist() == [False, True]
    assert Condition.parse("unknown_fact > 2").mask(facts).tolist() == [False, False]
    with pytest.raises(ValueError, match="cannot read"):
        Condition.parse("recency_days is long")


def test_templates_fill_columns_and_say_one_in_the_singular():
    snap = snapshot(purchase_days_90d=[1.0, 3.0], spend_90d=[12.5, 1234.5])
    facts = behaviour_facts(snap, 90, 365, 90)
    filled = Template("bought on {days_recent:,.0f} days for ¥{spend_recent:,.0f}").fill(
        facts, np.array([True, True])
    )
    assert filled.tolist() == ["bought on 1 day for ¥12", "bought on 3 days for ¥1,234"]


def test_a_fact_the_snapshot_cannot_give_skips_the_phrase(book):
    snap = snapshot(recency_days=[58.0]).drop(columns=["spend_180d", "purchase_days_180d"])
    out = texts(book, snap, {"recent": [-1.0]}, "churn")
    assert out["en"] == ["lowers risk: bought on 2 days for ¥300 in the last 90 days"]


def test_feature_labels_are_plain(cfg):
    names = cfg.tiering.reasons["names"]
    assert feature_label("spend_90d", names, "en") == "Spend, last 90 days"
    assert feature_label("channel_share__门店", names, "zh") == "门店渠道占比"
    assert feature_label("something_new", names, "en") == "Other feature"
