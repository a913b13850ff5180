"""Reasons (exact SHAP) are computed where people read them when there are many customers."""

from __future__ import annotations

import dataclasses

import numpy as np

from segml.data.generate import generate
from segml.data.validate import prepare
from segml.features.build import Vocabulary
from segml.features.datasets import build_snapshot
from segml.models.segment import segment_customers
from segml.models.training import RuleScorer
from segml.tiering.scoring import score_customers


def test_above_the_limit_the_most_valuable_and_most_at_risk_are_explained(cfg):
    demo = generate(600, seed=5)
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    prepared = prepare(demo.transactions.astype(str), None, identity)
    snapshot = build_snapshot(prepared.transactions, None, cfg.features, Vocabulary(), None, 90)
    churn = RuleScorer("bgnbd_p_no_purchase", "baseline_bgnbd", calibrate=False).fit(snapshot)
    upside = RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(snapshot)
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
