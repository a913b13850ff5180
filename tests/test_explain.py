"""Reason phrases from SHAP contributions of a small, hand-made LightGBM model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.explain import reasons, top_drivers
from segml.models import ChurnModel


def test_top_drivers_by_absolute_contribution():
    contrib = pd.DataFrame({"a": [0.1, -2.0], "b": [-0.5, 0.3], "c": [0.2, 0.0]})
    assert top_drivers(contrib, 2).tolist() == [[1, 2], [0, 1]]


def test_reasons_for_hand_made_model(cfg):
    # churn depends only on recency: the model must name recency, in words and numbers
    rng = np.random.default_rng(0)
    n = 3000
    recency = rng.integers(0, 400, n).astype(float)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "recency_days": recency,
        "gap_mean_days": rng.integers(5, 60, n).astype(float),
        "noise": rng.normal(size=n),
        "churned": (rng.random(n) < 1 / (1 + np.exp(-(recency - 200) / 30))).astype(int),
    })
    model = ChurnModel({"num_leaves": 7, "learning_rate": 0.1}, n_estimators=100, early_stopping_rounds=10,
                       calibration="none").fit(frame)
    row = pd.DataFrame({"customer_id": ["x"], "recency_days": [142.0], "gap_mean_days": [30.0], "noise": [0.0]})
    texts = reasons(model.contributions(row), row, cfg.tiering.reasons["phrases"], 1,
                    {"en": "risk", "zh": "流失风险"})
    assert texts["en"].iloc[0] == "no purchase for 142 days, usual gap 30 (lowers risk)"
    assert texts["zh"].iloc[0] == "已142天未购买，通常间隔30天（降低流失风险）"
    old = row.assign(recency_days=380.0)
    assert "(raises risk)" in reasons(model.contributions(old), old, cfg.tiering.reasons["phrases"], 1,
                                      {"en": "risk", "zh": "流失风险"})["en"].iloc[0]


def test_unknown_feature_falls_back_to_name_and_value():
    contrib = pd.DataFrame({"mystery": [1.0]})
    texts = reasons(contrib, pd.DataFrame({"mystery": [3]}), [], 1, {"en": "value", "zh": "预测价值"})
    assert texts["en"].iloc[0] == "mystery = 3 (raises value)"
