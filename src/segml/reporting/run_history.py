"""What earlier runs left, read back from MLflow: the registered models (the champion set), the
previous period's tiers that movement compares with, and the training outputs `segml score` shows.

The tier stage and `segml score` read through this module; it never writes to MLflow (that is
`run_logger`).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from segml.config import RunFilesConfig
from segml.data import io
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.data.provenance import file_digest
from segml.models.scorers import trained_horizon
from segml.reporting.mlflow_store import (
    ACCEPTED,
    CHAMPION,
    PERIOD,
    REGISTERED,
    load_mlflow,
    model_version,
)
from segml.reporting.privacy import restore_ids


def load_champion_set(uri: str, files: RunFilesConfig) -> tuple[dict | None, int | None]:
    """The champion set's segml objects and the churn window they were trained for (None, None
    before the first promotion)."""
    mlflow = load_mlflow()
    client = mlflow.MlflowClient(uri)
    try:
        client.get_model_version_by_alias(REGISTERED["churn"], CHAMPION)
    except Exception:  # no champion yet
        return None, None
    champion = {name: load_registered(uri, name, files) for name in ("churn", "upside")}
    return champion, trained_horizon(*champion.values())


def _model_ref(name: str, which: str) -> str:
    return (
        f"models:/{REGISTERED[name]}/{which}"
        if str(which).isdigit()
        else f"models:/{REGISTERED[name]}@{which}"
    )


def load_registered(uri: str, name: str, files: RunFilesConfig, which: str = CHAMPION):
    """A registered model by alias (`champion`) or version number, as the segml object.

    That object (with SHAP contributions and the feature vocabulary) is what `segml score` needs;
    it is the pickle logged beside the portable model in the same run.
    """
    mlflow = load_mlflow()
    client = mlflow.MlflowClient(uri)
    version = model_version(client, name, which)
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=version.run_id,
            artifact_path=files.model_object.format(name=name),
            dst_path=tmp,
            tracking_uri=uri,
        )
        scorer = io.load_pickle(path)
    if name in ("churn", "upside") and not hasattr(scorer, "horizon_days_"):
        # registered before train set the window on its scorers: the setting its run logged
        horizon = client.get_run(version.run_id).data.params.get("labels.horizon_days")
        scorer.horizon_days_ = int(horizon) if horizon else None
    return scorer


def load_portable(uri: str, name: str, which: str = CHAMPION):
    """The registered portable pyfunc model (what a system without segml would load)."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    return mlflow.pyfunc.load_model(_model_ref(name, which))


def period_key(data_digest: str, as_of: str | None) -> str:
    """What a run graded: its input data and scoring date (reruns with other settings share it)."""
    return hashlib.sha256(f"{data_digest}|{as_of}".encode()).hexdigest()[:12]


def last_accepted_run(uri: str, experiment: str, other_than: str | None = None) -> str | None:
    """The newest finished pipeline run tagged accepted (not an experiment or a sweep) of another
    period than `other_than` (a `period_key`): the previous period, not a rerun of this one."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return None
    other = f" and tags.`{PERIOD}` != '{other_than}'" if other_than else ""
    runs = mlflow.search_runs(
        [exp.experiment_id],
        max_results=1,
        order_by=["attributes.start_time DESC"],
        filter_string=f"attributes.status = 'FINISHED' and tags.`{ACCEPTED}` = 'true'{other}",
    )
    return str(runs["run_id"].iloc[0]) if len(runs) else None


def previous_ref(
    previous: str | None, uri: str, experiment: str, period: str | None = None
) -> str | None:
    """Pin the previous period: run:<id> of the last accepted run of another period than this one
    (`period_key`), file:<digest> of a table, or None. Reruns of a period keep the same pin."""
    if not previous:
        return None
    if previous == "accepted":
        run_id = last_accepted_run(uri, experiment, period)
        return f"run:{run_id}" if run_id else None
    return f"file:{file_digest(previous)[:12]}" if Path(previous).exists() else None


def previous_tier_table(
    uri: str, run_id: str, files: RunFilesConfig
) -> tuple[pd.DataFrame, str] | None:
    """Ids and tier columns logged by a run, and the date it graded (its `segml.as_of`)."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    as_of = mlflow.MlflowClient().get_run(run_id).data.tags.get("segml.as_of", "?")
    for artifact in (files.movement_base, files.full_table):  # the full table: runs before the base
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=artifact, dst_path=tmp
                )
            except Exception:  # that run did not log this table
                continue
            return io.read_parquet(path), as_of
    return None


def previous_tiers(
    previous: str | None,
    ref: str | None,
    uri: str,
    files: RunFilesConfig,
    current_ids: pd.Series | None = None,
    salt: str | None = None,
) -> tuple[pd.DataFrame | None, str | None]:
    """The pinned previous period's tier table for movement, and a label naming it (or None, None).

    A table logged with pseudonyms gets today's clear ids back where the pseudonym matches one of
    `current_ids` under `salt` (customers who left keep their pseudonym). A table with no customer
    in common with today's (e.g. logged under another salt) cannot show movement.
    """
    if not previous or not ref:
        return None, None
    if ref.startswith("run:"):
        found = previous_tier_table(uri, ref.removeprefix("run:"), files)
        if found is None:
            return None, None
        table, label = found[0], f"{found[1]} · MLflow run {ref[4:12]}"
    else:
        table, label = io.read_parquet(previous), str(previous)
    if current_ids is None or s.CUSTOMER_ID not in table:
        return table, label
    table = table.assign(**{s.CUSTOMER_ID: restore_ids(table[s.CUSTOMER_ID], current_ids, salt)})
    return (
        (table, label) if table[s.CUSTOMER_ID].isin(current_ids.astype(str)).any() else (None, None)
    )


def training_outputs(
    uri: str, catalog: Catalog, which: str = CHAMPION
) -> tuple[dict, dict, pd.DataFrame]:
    """The model metrics, plot tables and segment profile logged by the run that trained the
    registered set (`segml score` shows them in its report, as the pipeline does)."""
    mlflow = load_mlflow()
    version = model_version(mlflow.MlflowClient(uri), "churn", which)

    def fetch(folder: str, entry: str) -> Any:
        artifact = f"{folder}/{catalog.path(entry).name}"
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=artifact, dst_path=tmp, tracking_uri=uri
            )
            return Catalog({entry: Path(path)}).read(entry)

    metrics = {target: fetch("metrics", f"{target}_metrics") for target in ("churn", "upside")}
    plots = {p: fetch("plots", f"{p}_plot") for p in ("calibration", "deciles", "lift", "backtest")}
    return metrics, plots, fetch("tables", "segment_profile")
