"""Fixtures for the reporting tests: a small exported tier table with its summary and report
inputs, fitted scorers of every shape, a tier table to log, the files inside an MLflow run."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from segml.app.params import compose
from segml.config import to_typed
from segml.models.scorers import ChurnModel, RuleScorer, UpsideModel
from segml.models.segment import Segmenter
from segml.reporting.report import ReportInputs
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


@pytest.fixture()
def table():
    n = 30
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "as_of": "2025-12-31",
            "tier": rng.choice(list("ABC"), n),
            "value_level": rng.choice(["low", "mid", "high"], n),
            "potential_level": rng.choice(["low", "mid", "high"], n),
            "current_value": rng.gamma(2, 500, n),
            "predicted_value": rng.gamma(2, 200, n),
            "churn_probability": rng.random(n),
            "action_en": "call",
            "action_zh": "回访",
            "action_team_en": "Sales",
            "action_team_zh": "销售团队",
            "lifecycle_action_en": "Retention call",
            "lifecycle_action_zh": "挽留回访",
            "lifecycle_action_team_en": "Customer service",
            "lifecycle_action_team_zh": "客户服务团队",
            "value_reasons_en": "raises value: spent ¥1,200 in the last 90 days",
            "value_reasons_zh": "推高预测价值：近90天消费¥1,200",
            "churn_reasons_en": "raises risk: no purchase for 120 days",
            "churn_reasons_zh": "推高流失风险：已120天未购买",
            "lifecycle_status": rng.choice(["new", "active", "at_risk", "lost"], n),
            "rfm_r": rng.integers(1, 6, n),
            "rfm_f": rng.integers(1, 6, n),
            "rfm_m": rng.integers(1, 6, n),
            "rfm_segment": rng.choice(["champions", "lost"], n),
        }
    ).assign(
        lifecycle_en=lambda f: f["lifecycle_status"].str.replace("_", " "),
        lifecycle_zh=lambda f: f["lifecycle_status"].map(
            {"new": "新客户", "active": "活跃客户", "at_risk": "流失预警", "lost": "已流失"}
        ),
        rfm_segment_en=lambda f: f["rfm_segment"].str.title(),
        rfm_segment_zh=lambda f: f["rfm_segment"].map(
            {"champions": "冠军客户", "lost": "已流失客户"}
        ),
    )


@pytest.fixture()
def summary():
    return pd.DataFrame(
        {
            "tier": ["A", "B", "C"],
            "customers": [5, 10, 15],
            "customer_share": [1 / 6, 1 / 3, 1 / 2],
            "value_share": [0.8, 0.15, 0.05],
            "mean_churn_probability": [0.1, 0.3, 0.7],
        }
    )


@pytest.fixture()
def backtest():
    rows = []
    for target, metrics in (
        ("churn", ["roc_auc", "brier"]),
        ("upside", ["normalized_gini", "top20_capture"]),
    ):
        scorers = (
            ["model", "baseline_recency", "baseline_bgnbd"]
            if target == "churn"
            else ["model", "baseline_last_period"]
        )
        for fold, cutoff in enumerate(["2025-03-31", "2025-06-30", "2025-09-30"]):
            for k, scorer in enumerate(scorers):
                for metric in metrics:
                    rows.append(
                        {
                            "target": target,
                            "fold_cutoff": cutoff,
                            "scorer": scorer,
                            "metric": metric,
                            "value": 0.7 + 0.01 * fold - 0.02 * k,
                        }
                    )
    return pd.DataFrame(rows)


def sample_report_inputs(table, summary, backtest=None):
    movement = {
        "available": True,
        "kept_share": 0.9,
        "matrix": pd.DataFrame({"previous": ["A"], "A": [1]}),
        "upgrades": table.head(2).assign(previous="B", current="A", previous_value=10.0),
        "downgrades": table.iloc[2:3].assign(previous="A", current="C", previous_value=900.0),
    }
    plots = {
        "calibration": pd.DataFrame({"mean_predicted": [0.2, 0.8], "observed_rate": [0.25, 0.7]}),
        "lift": pd.DataFrame(
            {
                "scorer": ["model", "model"],
                "share_contacted": [0.5, 1.0],
                "share_churners_caught": [0.7, 1.0],
            }
        ),
        "deciles": pd.DataFrame(
            {
                "decile": [1, 2],
                "customers": [15, 15],
                "mean_predicted": [5.0, 1.0],
                "mean_actual": [4.0, 2.0],
            }
        ),
    }
    features = pd.DataFrame(
        {
            "frequency": [1.0, 1, 2, 12],
            "recency_days": [10.0, 20, 400, 5],
            "bgnbd_p_alive": [0.9, 0.7, 0.1, 1.0],
            "bgnbd_expected_purchases": [0.2, 0.4, 0.0, 3.0],
        }
    )
    return ReportInputs(
        table=table,
        summary=summary,
        movement=movement,
        metrics=pd.DataFrame(
            {
                "target": ["churn", "churn"],
                "scorer": ["model", "baseline_recency"],
                "roc_auc": [0.9, 0.85],
            }
        ),
        grades={
            "churn": {
                "grade": "C",
                "beats_baseline": False,
                "best_baseline": "baseline_recency",
                "margin_over_best_baseline": -0.01,
                "verdict_en": "Not better than the recency rule.",
                "verdict_zh": "不优于最近购买规则。",
                "scorer": "baseline_recency",
                "scorer_reason_en": "the rule is as good and simpler",
                "scorer_reason_zh": "规则同样好且更简单",
            }
        },
        profile=pd.DataFrame(
            {"persona_en": ["Champions"], "persona_zh": ["冠军客户"], "customers": [30]}
        ),
        plots=plots,
        importance=pd.DataFrame({"model": ["churn"], "feature": ["recency_days"], "gain": [1.0]}),
        quality={"rows_read": 10, "rejected_by_reason": {"duplicate": 1}},
        as_of="2025-12-31",
        primary="abc",
        backtest=backtest,
        features=features,
    )


def visible_text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)
