"""Who gets reasons, and whose come from exact SHAP, when there are many customers; value at stake
and churn bands."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.models.scorers import ChurnModel
from segml.models.segment import segment_customers
from segml.tiering.scoring import churn_bands, score_customers, value_at_stake
from tests.conftest import demo_snapshot, rule_scorers


@pytest.fixture(scope="module")
def setting(cfg):
    snapshot = demo_snapshot(cfg, 600, seed=5)
    labelled = snapshot.assign(churned=(snapshot["recency_days"] > 120).astype(int))
    churn = ChurnModel(
        {"num_leaves": 7, "min_child_samples": 10},
        n_estimators=40,
        early_stopping_rounds=5,
        calibration="none",
    ).fit(labelled)
    upside = rule_scorers(snapshot)[1]
    segmenter = segment_customers(snapshot, cfg.segment, cfg.seed)[0]
    return snapshot, segmenter, churn, upside


def _tiers(cfg, setting, **reasons):
    snapshot, segmenter, churn, upside = setting
    tiering = dataclasses.replace(cfg.tiering, reasons={**cfg.tiering.reasons, **reasons})
    return score_customers(snapshot, segmenter, churn, upside, tiering, 90).table


def test_above_the_limit_the_most_valuable_and_most_at_stake_are_explained_exactly(cfg, setting):
    limit = 40
    table = _tiers(cfg, setting, max_customers=limit, sample_customers=100)
    exact = _tiers(cfg, setting, max_customers=None, sample_customers=100)
    assert (table["customer_id"] == exact["customer_id"]).all()
    by_value = table["current_value"].rank(method="first", ascending=False) <= limit
    by_stake = table["value_at_stake"].rank(method="first", ascending=False) <= limit
    top = by_value | by_stake
    assert (table.loc[top, "churn_reasons_en"] == exact.loc[top, "churn_reasons_en"]).all()
    # the others' drivers are estimated: still reasons, mostly the same ones
    others = ~top
    assert (table.loc[others, "churn_reasons_en"].str.len() > 0).all()
    first = table["churn_reasons_en"].str.split(r"; | · ", regex=True).str[0]
    first_exact = exact["churn_reasons_en"].str.split(r"; | · ", regex=True).str[0]
    assert (first[others] == first_exact[others]).mean() > 0.8
    assert (table.loc[others, "churn_reasons_en"] != exact.loc[others, "churn_reasons_en"]).any()


def test_above_everyone_up_to_only_customers_a_team_contacts_get_reasons(cfg, setting):
    table = _tiers(cfg, setting, max_customers=10, everyone_up_to=100)
    note = cfg.tiering.reasons["not_computed"]
    contacted = (table["lifecycle_status"] == "at_risk") | (table["tier"] == "A")
    assert contacted.any() and (~contacted).any()
    for language in ("en", "zh"):
        reasons = table[f"churn_reasons_{language}"]
        assert not (reasons[contacted] == note[language]).any()
        assert (reasons[contacted].str.len() > 0).all()
        assert (table[f"value_reasons_{language}"][contacted] != note[language]).all()
    skipped = table["churn_reasons_en"] == note["en"]
    assert skipped.sum() >= (~contacted).sum() - 20  # the 10 + 10 explained exactly have reasons


def test_value_at_stake_and_churn_bands_by_hand(cfg):
    p = pd.Series([0.9, 0.5, 0.1, np.nan])
    value = pd.Series([1000.0, -50.0, 200.0, 10.0])
    assert value_at_stake(p, value).tolist()[:3] == [900.0, 0.0, 20.0]
    bands = dataclasses.replace(cfg.tiering, churn_bands=type(cfg.tiering.churn_bands)(0.4, 0.7))
    band = churn_bands(p, bands)
    assert band.tolist()[:3] == ["high", "medium", "low"] and pd.isna(band.iloc[3])


def test_a_value_model_scaled_to_add_up_is_still_explained_by_estimate_past_the_limit(setting):
    """The total's factor (`ScaledScorer`) wraps the value model: reasons must see its trees, or
    every customer's drivers were computed exactly (30 s of TreeSHAP at 1 M customers)."""
    from segml.models.scorers import ScaledScorer
    from segml.tiering.attribution import exact

    snapshot, _, churn, upside = setting
    assert not exact(ScaledScorer(churn, 0.9)) and exact(ScaledScorer(upside, 0.9))
    scaled = ScaledScorer(churn, 0.9)
    pd.testing.assert_frame_equal(scaled.matrix(snapshot), churn.matrix(snapshot))
    pd.testing.assert_frame_equal(scaled.contributions(snapshot), churn.contributions(snapshot))
