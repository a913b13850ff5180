"""The only module that talks to MLflow: runs, metrics, models, registry aliases, past tier tables."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

CHAMPION = "champion"
# Long text tables of the config (phrases, actions, headers) go in the logged params.yaml, not in params.
VERBOSE_PARAMS = ("tiering.actions", "tiering.reasons", "tiering.value_potential.cells", "export.headers",
                  "segment.personas")
REGISTERED = {"churn": "segml-churn", "upside": "segml-upside", "segmenter": "segml-segmenter"}
# model -> (metric key in the flattened metrics, higher is better) used to decide promotion
PROMOTION_METRIC = {"churn": ("churn.model.roc_auc", True), "upside": ("upside.model.normalized_gini", True),
                    "segmenter": ("segment.silhouette", True)}


def _mlflow():
    import logging

    import mlflow  # imported lazily: importing mlflow is slow and has side effects

    # our models are pickled on purpose (they are our own classes); keep the console readable
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    return mlflow


def flatten(tree: Mapping, prefix: str = "") -> dict[str, Any]:
    """{"churn": {"model": {"roc_auc": .9}}} -> {"churn.model.roc_auc": .9}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


def connect(uri: str, experiment: str):
    mlflow = _mlflow()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    return mlflow


def _numeric(metrics: dict) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            out[key] = float(value)
        elif isinstance(value, (int, float)) and value == value:
            out[key] = float(value)
    return out


def log_pipeline_run(uri: str, experiment: str, params: dict, metrics: dict, tags: dict[str, str],
                     models: dict[str, tuple[Any, pd.DataFrame]], artifacts: dict[str, list[Path]],
                     register: bool, auto_promote: bool) -> dict:
    """Record one pipeline execution; register models and move `champion` only on improvement."""
    mlflow = connect(uri, experiment)
    flat_metrics = flatten(metrics)
    decisions: dict[str, str] = {}
    with mlflow.start_run(run_name=tags.get("segml.as_of")) as run:
        mlflow.set_tags(tags)
        flat_params = {re.sub(r"[^\w\-. :/]", "_", k): str(v)[:6000] for k, v in flatten(params).items()
                       if not k.startswith(VERBOSE_PARAMS)}
        items = list(flat_params.items())
        for i in range(0, len(items), 100):  # MLflow caps params per batch
            mlflow.log_params(dict(items[i:i + 100]))
        mlflow.log_metrics(_numeric(flat_metrics))
        for folder, files in artifacts.items():
            for path in files:
                if Path(path).exists():
                    mlflow.log_artifact(str(path), artifact_path=folder)
        for name, (model, example) in models.items():
            info = _log_model(mlflow, name, model, example)
            if register:
                decisions[name] = _register(mlflow, name, info.model_uri, run.info.run_id, flat_metrics, auto_promote)
        mlflow.set_tags({f"segml.promotion.{k}": v for k, v in decisions.items()})
        return {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id, "promotion": decisions}


def _log_model(mlflow, name: str, model: Any, example: pd.DataFrame):
    from mlflow.models import infer_signature

    example = example.copy()
    for column in example.columns:  # MLflow schemas have no categorical type: send text
        if isinstance(example[column].dtype, pd.CategoricalDtype):
            example[column] = example[column].astype(object).where(example[column].notna(), None).astype(str)
    output = model.predict(example)
    if hasattr(output, "to_numpy"):
        output = output.to_numpy()
    return mlflow.sklearn.log_model(
        model, name=name, signature=infer_signature(example, output), input_example=example,
        pip_requirements=_requirements(),  # given explicitly: inferring them takes seconds
        serialization_format="pickle",
    )


def _requirements() -> list[str]:
    """Pinned versions of what unpickling the models needs (segml itself must be installed too)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("lightgbm", "scikit-learn", "pandas", "numpy", "scipy")]


def _register(mlflow, name: str, model_uri: str, run_id: str, metrics: dict, auto_promote: bool) -> str:
    """Register a version; move the alias only if it beats the champion on the promotion metric."""
    client = mlflow.MlflowClient()
    registered = REGISTERED[name]
    version = mlflow.register_model(model_uri, registered)
    metric, higher = PROMOTION_METRIC[name]
    score = metrics.get(metric)
    client.set_model_version_tag(registered, version.version, "validation_metric", metric)
    client.set_model_version_tag(registered, version.version, "validation_value", str(score))
    client.set_model_version_tag(registered, version.version, "run_id", run_id)
    try:
        champion = client.get_model_version_by_alias(registered, CHAMPION)
        best = float(champion.tags.get("validation_value", "nan"))
    except Exception:  # no champion yet
        champion, best = None, float("nan")
    better = champion is None or best != best or (score is not None and (score > best if higher else score < best))
    if not auto_promote:
        return f"registered v{version.version}; auto_promote off"
    if better:
        client.set_registered_model_alias(registered, CHAMPION, version.version)
        was = f" (was v{champion.version}, {metric}={best:.4f})" if champion else ""
        return f"promoted v{version.version} to champion: {metric}={score:.4f}{was}"
    return f"kept champion v{champion.version}: {metric}={best:.4f} >= new v{version.version} {score:.4f}"


def load_registered(uri: str, name: str, which: str = CHAMPION):
    """A registered model by alias (`champion`) or version number, as the original Python object."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(uri)
    ref = f"models:/{REGISTERED[name]}/{which}" if str(which).isdigit() else f"models:/{REGISTERED[name]}@{which}"
    return mlflow.sklearn.load_model(ref)


def previous_tier_table(uri: str, experiment: str) -> pd.DataFrame | None:
    """The tier table of the most recent finished run of the experiment, if any."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = mlflow.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'",
                              order_by=["attributes.start_time DESC"], max_results=20)
    for run_id in runs.get("run_id", []):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="tables/tiers.parquet",
                                                           dst_path=tmp)
            except Exception:  # that run has no tier table
                continue
            return pd.read_parquet(path)
    return None


def previous_tiers(previous: str | None, uri: str, experiment: str) -> pd.DataFrame | None:
    """Last run's tier table for movement: from MLflow, from a parquet path, or none."""
    if not previous:
        return None
    if previous == "mlflow":
        return previous_tier_table(uri, experiment)
    from segml import io

    return io.read_parquet(previous)
