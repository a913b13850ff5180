"""Reasons (exact SHAP) are computed where people read them when there are many customers."""

from __future__ import annotations

import dataclasses

import numpy as np

from segml.models.segment import segment_customers
from segml.tiering.scoring import score_customers
from tests.conftest import demo_snapshot, rule_scorers


def test_above_the_limit_the_most_valuable_and_most_at_risk_are_explained(cfg):
    snapshot = demo_snapshot(cfg, 600, seed=5)
    churn, upside = rule_scorers(snapshot)
    segmenter = segment_customers(snapshot, cfg.segment, cfg.seed)[0]
    limit = 40
    tiering = dataclasses.replace(
        cfg.tiering, reasons={**cfg.tiering.reasons, "max_customers": limit}
    )
    table = score_customers(snapshot, segmenter, churn, upside, tiering, 90).table

    not_computed = table["churn_reasons_en"].str.startswith("not computed")
    explained = table[~not_computed]
    assert limit <= len(explained) <= 2 * limit < len(table)
    by_value = table.sort_values("current_value", ascending=False)["customer_id"].head(limit)
    stake = table["churn_probability"] * table["current_value"].clip(lower=0)
    by_stake = table.assign(stake=stake).sort_values("stake", ascending=False)["customer_id"]
    assert set(by_value) <= set(explained["customer_id"])
    assert set(by_stake.head(limit)) <= set(explained["customer_id"])
    # the others say so in both languages, with how many were explained, and nothing else
    others = table[not_computed]
    assert (others["value_reasons_en"] == others["churn_reasons_en"]).all()
    assert others["churn_reasons_zh"].str.contains(f"{len(explained):,}").all()
    assert not explained["churn_reasons_zh"].str.startswith("未计算").any()

    everyone = score_customers(snapshot, segmenter, churn, upside, cfg.tiering, 90).table
    assert not everyone["churn_reasons_en"].str.startswith("not computed").any()
    same = np.isin(everyone["customer_id"], explained["customer_id"])
    assert everyone.loc[same, "churn_reasons_en"].tolist() == explained["churn_reasons_en"].tolist()
