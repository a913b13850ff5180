"""Reason phrases from SHAP contributions of a small, hand-made LightGBM model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.models.scorers import ChurnModel
from segml.tiering.reasons import Phrasebook, condition_holds, feature_label, reasons, top_drivers


def test_top_drivers_by_absolute_contribution():
    contrib = pd.DataFrame({"a": [0.1, -2.0], "b": [-0.5, 0.3], "c": [0.2, 0.0]})
    assert top_drivers(contrib, 2).tolist() == [[1, 2], [0, 1]]


def test_reasons_for_hand_made_model(cfg):
    # churn depends only on recency: the model must name recency, in words and numbers
    rng = np.random.default_rng(0)
    n = 3000
    recency = rng.integers(0, 400, n).astype(float)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": recency,
            "gap_mean_days": rng.integers(5, 60, n).astype(float),
            "noise": rng.normal(size=n),
            "churned": (rng.random(n) < 1 / (1 + np.exp(-(recency - 200) / 30))).astype(int),
        }
    )
    model = ChurnModel(
        {"num_leaves": 7, "learning_rate": 0.1},
        n_estimators=100,
        early_stopping_rounds=10,
        calibration="none",
    ).fit(frame)
    row = pd.DataFrame(
        {"customer_id": ["x"], "recency_days": [142.0], "gap_mean_days": [30.0], "noise": [0.0]}
    )
    texts = reasons(
        model.contributions(row),
        row,
        cfg.tiering.reasons["phrases"],
        1,
        {"en": "risk", "zh": "流失风险"},
    )
    assert texts["en"].iloc[0] == "lowers risk: no purchase for 142 days (usually every 30)"
    assert texts["zh"].iloc[0] == "降低流失风险：已142天未购买（通常每30天一次）"
    old = row.assign(recency_days=380.0)
    assert (
        reasons(
            model.contributions(old),
            old,
            cfg.tiering.reasons["phrases"],
            1,
            {"en": "risk", "zh": "流失风险"},
        )["en"]
        .iloc[0]
        .startswith("raises risk: no purchase for 380 days")
    )


def test_unknown_feature_gets_the_generic_phrase_never_its_name():
    contrib = pd.DataFrame({"mystery_score": [1.0]})
    texts = reasons(
        contrib,
        pd.DataFrame({"mystery_score": [3.14159]}),
        [],
        1,
        {"en": "value", "zh": "预测价值"},
        fallback={"en": "other buying behaviour", "zh": "其他购买行为"},
    )
    assert texts["en"].iloc[0] == "raises value: other buying behaviour"
    assert texts["zh"].iloc[0] == "推高预测价值：其他购买行为"


def test_drivers_grouped_by_direction_and_phrased_by_condition(cfg):
    phrases = cfg.tiering.reasons["phrases"]
    contrib = pd.DataFrame(
        {"channel_share__官网": [0.5], "spend_90d": [-0.4], "spend_trend_90d": [0.3]}
    )
    row = pd.DataFrame(
        {"channel_share__官网": [0.0], "spend_90d": [1234.5678], "spend_trend_90d": [-0.25]}
    )
    texts = reasons(contrib, row, phrases, 3, {"en": "value", "zh": "预测价值"})
    assert texts["en"].iloc[0] == (
        "raises value: never bought via 官网; spending less in the last 90 days than the "
        "90 before · lowers value: spent ¥1,235 in the last 90 days"
    )
    assert texts["zh"].iloc[0] == (
        "推高预测价值：从未通过官网购买；近90天消费低于前90天 · 降低预测价值：近90天消费¥1,235"
    )


@pytest.mark.parametrize(
    "when, value, row, expected",
    [
        ("zero", 0.0, {}, True),
        ("zero", 0.1, {}, False),
        ("negative", -1, {}, True),
        ("positive", 0, {}, False),
        ("missing", float("nan"), {}, True),
        (None, float("nan"), {}, False),
        (None, 2.0, {}, True),
        ("frequency <= 1", 5.0, {"frequency": 1.0}, True),
        ("frequency <= 1", 5.0, {"frequency": 2.0}, False),
        ("value > 2.5", 3.0, {}, True),
    ],
)
def test_phrase_conditions(when, value, row, expected):
    assert condition_holds(when, value, row) is expected


def test_a_missing_field_moves_on_to_the_next_entry_and_never_prints_nan(cfg):
    book = Phrasebook(cfg.tiering.reasons["phrases"], cfg.tiering.reasons["fallback"])
    row = {"recency_days": 40.0, "frequency": 3.0, "gap_mean_days": float("nan")}
    assert book.phrase("recency_days", row, "en") == "no purchase for 40 days"
    assert book.phrase("attr_region", {"attr_region": float("nan")}, "zh") == "客户属性未记录"


def test_feature_labels_are_plain(cfg):
    names = cfg.tiering.reasons["names"]
    assert feature_label("spend_90d", names, "en") == "Spend, last 90 days"
    assert feature_label("channel_share__门店", names, "zh") == "门店渠道占比"
    assert feature_label("something_new", names, "en") == "Other feature"
