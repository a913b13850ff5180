"""Training on histories unlike the demo's, each generated for its test: purchases drawn at
random (nothing to learn beyond the rules) and one acquisition wave (`--shape cohort`). Apart from
models/test_training.py, whose tests share one trained set, so that the two run side by side."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.data.generate import generate
from segml.data.validate import prepare
from segml.features.datasets import build_datasets
from segml.features.transactions import index_transactions
from segml.models.scorers import RuleScorer
from segml.models.training import train_models

# not a unit test: it trains the real models on generated histories (make test runs it)
pytestmark = pytest.mark.slow


def test_a_model_that_cannot_win_is_graded_c_and_scores_with_the_baseline(cfg):
    """Purchases drawn at random (no customer behaves differently from another): nothing to learn
    beyond the rules, so production scores with the best baseline and says so."""
    rng = np.random.default_rng(3)
    n, days = 1500, pd.date_range("2023-01-01", "2025-12-31")
    rows = rng.integers(0, n, 30_000)
    tx = pd.DataFrame(
        {
            "customer_id": np.char.zfill(rows.astype(str), 5),
            "amount": rng.gamma(2, 50, len(rows)),
            "ts": days.values[rng.integers(0, len(days), len(rows))],
            "order_id": np.arange(len(rows)).astype(str),
            "quantity": 1.0,
            "category": "food",
            "channel": "app",
        }
    )
    data = build_datasets(index_transactions(tx), cfg.features, cfg.labels, None)
    models = train_models(
        data.labelled, data.schedule, cfg.churn, cfg.upside, cfg.seed, data.vocabulary
    )
    churn = models.metrics["churn"]
    assert churn["summary"]["grade"] == "C", churn["summary"]["verdict_en"]
    assert churn["production"]["scorer"] == churn["summary"]["best_baseline"] != "model"
    assert (
        isinstance(models.churn, RuleScorer)
        and "best baseline" in churn["production"]["scorer_reason_en"]
    )
    p = models.churn.predict_proba(data.snapshot)
    assert ((p >= 0) & (p <= 1)).all()  # a calibrated probability, not a raw rule score
    assert models.churn.contributions(data.snapshot).shape == (len(data.snapshot), 1)


def test_cohort_shaped_history_is_backtested_and_never_scored_worse_than_the_rule(cfg):
    """One acquisition wave, a year of history, repeat rates fading with tenure (`--shape cohort`)."""
    demo = generate(2000, start="2025-01-01", end="2025-12-31", seed=5, shape="cohort")
    acquired = pd.to_datetime(demo.ground_truth["acquired_on"])
    assert acquired.max() < pd.Timestamp("2025-04-02")  # everyone arrives in the first quarter
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    prepared = prepare(demo.transactions.astype(str), demo.customers.astype("string"), identity)
    tx = prepared.transactions
    tenure = (tx["ts"] - tx.groupby("customer_id")["ts"].transform("min")).dt.days
    assert (tenure.between(1, 120)).sum() > 1.5 * (
        tenure.between(181, 300)
    ).sum()  # repeat rates decay

    data = build_datasets(
        index_transactions(tx, prepared.customers), cfg.features, cfg.labels, None
    )
    assert len(data.schedule.folds) == 3 and len(data.schedule.production) >= 3
    models = train_models(
        data.labelled, data.schedule, cfg.churn, cfg.upside, cfg.seed, data.vocabulary
    )
    for target in ("churn", "upside"):
        summary, production = (
            models.metrics[target]["summary"],
            models.metrics[target]["production"],
        )
        assert (production["scorer"] == "model") == (summary["grade"] != "C")
        # whatever scores in production is never clearly worse than the best rule
        assert summary["margin_mean"] > -summary["margin_spread"] or production["scorer"] != "model"
