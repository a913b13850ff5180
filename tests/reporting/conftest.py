"""Fixtures for the reporting tests: fitted scorers of every shape, a tier table, the run files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.config import compose, to_typed
from segml.models.segment import Segmenter
from segml.models.training import ChurnModel, RuleScorer, UpsideModel
from tests.conftest import ROOT

# where things live inside a run, as conf/paths says
FILES = to_typed(compose(conf_dir=ROOT / "conf")).paths.in_mlflow_run
SEGMENT_FEATURES = ["recency_days", "frequency", "monetary_total"]


@pytest.fixture(scope="session")
def features() -> pd.DataFrame:
    """600 customers with numeric features, one attribute and labels that depend on them."""
    rng = np.random.default_rng(3)
    n = 600
    recency = rng.integers(0, 400, n).astype(float)
    frequency = rng.integers(1, 30, n)
    monetary = rng.gamma(2.0, 300.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": np.char.zfill(np.arange(1, n + 1).astype(str), 7),
            "recency_days": recency,
            "frequency": frequency,
            "monetary_total": monetary,
            "spend_90d": monetary * rng.uniform(0, 0.5, n),
            "attr_region": pd.Categorical(rng.choice(["华东", "华南", "华北"], n)),
        }
    )
    frame["churned"] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-(recency - 200) / 60))).astype(int)
    frame["future_value"] = np.where(
        frame["churned"] == 1, 0.0, monetary * rng.uniform(0.1, 0.6, n)
    )
    return frame


@pytest.fixture(scope="session")
def fitted(features) -> dict:
    small = {"n_estimators": 60, "early_stopping_rounds": 10}
    params = {"num_leaves": 7, "min_child_samples": 20, "learning_rate": 0.1}
    return {
        "churn_isotonic": ChurnModel(params, calibration="isotonic", **small).fit(features),
        "churn_platt": ChurnModel(params, calibration="platt", **small).fit(features),
        "upside": UpsideModel(params, **small).fit(features),
        "segmenter": Segmenter(SEGMENT_FEATURES, k=3, n_init=2, personas={}).fit(features),
        "recency_rule": RuleScorer("recency_days", "baseline_recency").fit(
            features, features["churned"]
        ),
        "last_spend": RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(
            features
        ),
    }


def tier_table(n: int = 300) -> pd.DataFrame:
    ids = pd.Series(np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    tiers = np.array(["A", "B", "C"])[np.arange(n) % 3]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "tier": tiers,
            "tier_abc": tiers,
            "tier_pyramid": "lead",
            "vp_cell": "low_low",
            "lifecycle_status": "active",
            "persona": "loyal",
            "attr_region": "华东",
            "current_value": np.arange(n, dtype=float),
        }
    )
