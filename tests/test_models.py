"""Behavioural tests on really trained models: direction, invariance, and recovery of the
generator's hidden truth (Made-With-ML style), plus hand-checked quality measures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from segml import evaluation as ev
from segml.datasets import build_datasets, build_snapshot
from segml.generate import generate
from segml.models import FeatureMismatchError, train_models
from segml.segment import segment_customers
from segml.transactions import index_transactions
from segml.validate import prepare


def clean_demo(cfg, n: int, seed: int):
    demo = generate(n, seed=seed)
    identity = dataclasses.replace(cfg.data, columns={k: k for k in cfg.data.columns},
                                   customer_columns={k: k for k in cfg.data.customer_columns})
    prepared = prepare(demo.transactions.astype(str), demo.customers.astype("string"), identity)
    return prepared, demo.ground_truth


@pytest.fixture(scope="module")
def trained(cfg):
    prepared, truth = clean_demo(cfg, 5000, seed=11)
    data = build_datasets(index_transactions(prepared.transactions, prepared.customers), cfg.features, cfg.labels, None)
    models = train_models(data.train, data.valid, cfg.churn, cfg.upside, cfg.labels.horizon_days, cfg.seed,
                          data.vocabulary)
    return prepared, truth, data, models


def test_churn_model_beats_recency_rule_on_later_cutoff(trained):
    *_, models = trained
    churn = models.metrics["churn"]
    assert churn["model"]["roc_auc"] > churn["baseline_recency"]["roc_auc"]
    assert churn["model"]["brier"] < churn["baseline_recency"]["brier"]


def test_more_recent_purchase_never_raises_churn_risk(trained):
    _, _, data, models = trained
    rows = data.valid.sample(500, random_state=0)
    later = rows.assign(recency_days=rows["recency_days"] + 45, recency_gap_ratio=rows["recency_gap_ratio"] * 2)
    assert (models.churn.predict_proba(later) >= models.churn.predict_proba(rows) - 1e-12).all()


def test_more_past_spend_never_lowers_predicted_value(trained):
    _, _, data, models = trained
    rows = data.valid.sample(500, random_state=1)
    spend = [c for c in rows if c in ("monetary_total", "gross_spend") or (c.startswith("spend_") and
                                                                          c.endswith("d") and "trend" not in c)]
    richer = rows.assign(**{c: rows[c].abs() * 1.5 + 10 for c in spend})
    base = rows.assign(**{c: rows[c].abs() for c in spend})
    assert (models.upside.predict(richer) >= models.upside.predict(base) - 1e-9).all()


def test_row_and_id_order_change_nothing(cfg, trained):
    prepared, _, data, models = trained
    shuffled = prepared.transactions.sample(frac=1.0, random_state=5).reset_index(drop=True)
    again = build_datasets(index_transactions(shuffled, prepared.customers.iloc[::-1]), cfg.features, cfg.labels, None)
    pd.testing.assert_frame_equal(again.snapshot, data.snapshot)
    reversed_rows = data.snapshot.iloc[::-1]
    np.testing.assert_allclose(models.churn.predict_proba(reversed_rows)[::-1], models.churn.predict_proba(data.snapshot))


def test_stage_snapshot_is_what_score_builds(cfg, trained):
    """The stage builds the snapshot in the same pass as the training cutoffs; `segml score`
    builds it alone. Exact money sums make the two identical, so scores match the pipeline."""
    prepared, _, data, _ = trained
    alone = build_snapshot(prepared.transactions, prepared.customers, cfg.features, data.vocabulary, None,
                           cfg.labels.horizon_days)
    pd.testing.assert_frame_equal(alone, data.snapshot, check_exact=True)


def test_churn_risk_recovers_hidden_stop_dates(trained):
    _, truth, data, models = trained
    snap = data.snapshot.merge(truth, on="customer_id")
    active = snap[snap["recency_days"] <= 365]
    stopped = (active["stop_date"] <= active["cutoff"]).to_numpy()
    auc = roc_auc_score(stopped, models.churn.predict_proba(active))
    print(f"churn probability vs hidden 'has stopped' AUC = {auc:.3f}")
    assert auc > 0.8


def test_segments_relate_to_hidden_personas(cfg, trained):
    _, truth, data, _ = trained
    _, assigned, profile, metrics = segment_customers(data.snapshot, cfg.segment, cfg.seed)
    joined = assigned.merge(truth.rename(columns={"persona": "hidden_persona"}), on="customer_id")
    ari = adjusted_rand_score(joined["hidden_persona"], joined["segment"])
    print(f"segments vs hidden personas ARI = {ari:.3f}; stability ARI = {metrics['stability_ari']:.3f}")
    assert ari > 0.05
    assert metrics["stability_ari"] > 0.5
    assert profile["customers"].sum() == len(data.snapshot)
    assert assigned["persona"].nunique() == metrics["k"]  # every cluster got its own name


def test_model_refuses_data_without_its_columns(trained):
    _, _, data, models = trained
    with pytest.raises(FeatureMismatchError, match="spend_365d"):
        models.churn.predict_proba(data.valid.drop(columns=["spend_365d"]))


def test_quality_measures_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    p = np.array([.9, .8, .7, .1, .1, .1, .1, .1, .1, .2])
    assert ev.lift_at(y, p, 0.10) == pytest.approx(1 / 0.3)
    actual = np.array([10.0, 0.0, 5.0, 5.0])
    assert ev.normalized_gini(actual, actual) == pytest.approx(1.0)
    assert ev.normalized_gini(actual, -actual) < 0
    assert ev.capture_at(actual, np.array([4, 3, 2, 1]), 0.25) == pytest.approx(0.5)
    deciles = ev.decile_table(np.arange(20.0), np.arange(20.0))
    assert deciles["decile"].tolist() == list(range(1, 11)) and deciles["mean_actual"].iloc[0] == 18.5
    assert ev.grade(0.90, {"a": 0.86, "b": 0.80})["grade"] == "A"
    assert ev.grade(0.90, {"a": 0.89})["grade"] == "B"
    assert ev.grade(0.90, {"a": 0.91}) == {"best_baseline": "a", "margin_over_best_baseline": pytest.approx(-0.01),
                                           "beats_baseline": False, "grade": "C"}
