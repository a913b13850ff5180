"""The tier stage's scoring (also `segml score`): movement against a previous period, and
hysteresis that keeps customers near a cut in last period's tier."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from segml.data.generate import generate
from segml.data.validate import prepare
from segml.features.build import Vocabulary
from segml.features.datasets import build_snapshot
from segml.models.segment import segment_customers
from segml.models.training import RuleScorer
from segml.tiering.scoring import score_customers


@pytest.fixture(scope="module")
def scored(cfg):
    demo = generate(1200, seed=3)
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    prepared = prepare(demo.transactions.astype(str), None, identity)
    snapshot = build_snapshot(prepared.transactions, None, cfg.features, Vocabulary(), None, 90)
    # rules as scorers keep this fast; the tier logic does not care which scorer produced a score
    churn = RuleScorer("bgnbd_p_no_purchase", "baseline_bgnbd", calibrate=False).fit(snapshot)
    upside = RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(snapshot)
    segmenter = segment_customers(snapshot, cfg.segment, cfg.seed)[0]
    first = score_customers(snapshot, segmenter, churn, upside, cfg.tiering, 90)
    # the next period: every customer's 12-month value drifts by up to 3 %
    drift = np.random.default_rng(0).uniform(0.97, 1.03, len(snapshot))
    later = snapshot.assign(spend_365d=snapshot["spend_365d"] * drift)
    return cfg, first, later, (segmenter, churn, upside)


def rescore(scored, hysteresis: float):
    cfg, first, later, (segmenter, churn, upside) = scored
    tiering = dataclasses.replace(cfg.tiering, hysteresis=hysteresis)
    return score_customers(
        later, segmenter, churn, upside, tiering, 90, first.table, "2025-11-30 · test"
    )


def test_movement_names_the_period_and_marks_every_customer(scored):
    _, first, _, _ = scored
    result = rescore(scored, 0.0)
    assert result.movement["available"] and result.movement["compared_with"] == "2025-11-30 · test"
    assert set(result.table["tier_change"]) <= {"up", "down", "same", "new"}
    moved = result.table["tier"] != first.table["tier"]
    assert (result.table.loc[moved, "tier_change"] != "same").all()
    assert result.metrics["compared_with"] == "2025-11-30 · test"


def test_hysteresis_keeps_customers_near_a_cut_in_their_tier(scored):
    _, first, _, _ = scored
    strict, held = rescore(scored, 0.0), rescore(scored, 0.05)
    moved_strict = (strict.table["tier_abc"] != first.table["tier_abc"]).sum()
    moved_held = (held.table["tier_abc"] != first.table["tier_abc"]).sum()
    assert moved_strict > 0 and moved_held < moved_strict
    # nobody is held in a tier more than one step away from where the new values put them
    order = {"A": 0, "B": 1, "C": 2}
    gap = (held.table["tier_abc"].map(order) - strict.table["tier_abc"].map(order)).abs()
    assert gap.max() <= 1
