"""MLflow at the edge: a real sqlite store; the champion alias moves only on improvement."""

from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LinearRegression

from segml import tracking


def test_flatten_gives_readable_keys():
    assert tracking.flatten({"churn": {"model": {"roc_auc": 0.9}}, "seed": 1}) == {"churn.model.roc_auc": 0.9, "seed": 1}


def test_champion_moves_only_on_improvement(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    model = LinearRegression().fit(X, [0.0, 1.0, 2.0])

    def log(auc: float, k: int) -> dict:
        return tracking.log_pipeline_run(
            uri, "segml-test", params={"churn": {"params": {"num_leaves": k}}, "export": {"headers": {"a": "b"}}},
            metrics={"churn": {"model": {"roc_auc": auc, "calibration": "none"}}}, tags={"segml.as_of": "2025-12-31"},
            models={"churn": (model, X)}, artifacts={}, register=True, auto_promote=True)

    first, worse, better = log(0.80, 31), log(0.70, 15), log(0.85, 63)
    assert first["promotion"]["churn"].startswith("promoted v1")
    assert worse["promotion"]["churn"].startswith("kept champion v1")
    assert better["promotion"]["churn"].startswith("promoted v3")

    import mlflow

    client = mlflow.MlflowClient(uri)
    assert int(client.get_model_version_by_alias("segml-churn", "champion").version) == 3
    run = client.get_run(worse["run_id"])
    assert run.data.params["churn.params.num_leaves"] == "15"
    assert "export.headers.a" not in run.data.params  # long text tables stay in params.yaml
    assert run.data.metrics["churn.model.roc_auc"] == 0.70
    assert run.data.tags["segml.promotion.churn"].startswith("kept champion")
    loaded = tracking.load_registered(uri, "churn", "champion")
    assert loaded.predict(X).round(6).tolist() == [0.0, 1.0, 2.0]
