"""What earlier runs left, read back from MLflow: the registered models (the champion set), the
previous period's tiers that movement compares with, and the training outputs `segml score` shows.

The tier stage and `segml score` read through this module; it never writes to MLflow (that is
`run_logger`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from segml.config import Config, RunFilesConfig
from segml.data import io
from segml.data import schema as s
from segml.data.catalog import DETAILS, Catalog
from segml.data.provenance import file_digest
from segml.models.horizon import trained_horizon
from segml.reporting.mlflow_store import (
    ACCEPTED,
    AS_OF,
    AS_OF_FROM_DATA,
    CHAMPION,
    EXPORT,
    REGISTERED,
    load_mlflow,
    model_version,
)
from segml.reporting.privacy import restore_ids
from segml.tiering.periods import Period, previous_period


@dataclass(frozen=True)
class ModelSet:
    """A registered model set as its training run recorded it: what `segml score` names, the
    champion challenge compares and the horizon its scores predict (one record, read once)."""

    which: str  # the alias or version asked for
    version: str  # registered version of the churn model (the set moves together)
    run_id: str  # the run that trained and registered it
    as_of: str | None  # the period it was trained on: its labels end there
    horizon_days: int | None  # the churn window it predicts
    models: dict | None = None  # churn and upside segml objects, when loaded

    def describe(self) -> dict[str, str]:
        """The set in plain words, both languages."""
        when = self.as_of or "?"
        return {
            "en": f"registered model set v{self.version} ({self.which}), trained on data as of "
            f"{when} (MLflow run {self.run_id[:8]})",
            "zh": f"注册模型组 v{self.version}（{self.which}），训练数据截至 {when}"
            f"（MLflow 运行 {self.run_id[:8]}）",
        }


def model_set(uri: str, which: str = CHAMPION, part: str | None = None) -> ModelSet | None:
    """The record of a registered set (alias or version number), None when there is none;
    `part` (`data.kind: both`): that part's set (segml-subscriptions-churn, ...)."""
    mlflow = load_mlflow()
    client = mlflow.MlflowClient(uri)
    try:
        version = model_version(client, _named("churn", part), which)
    except Exception:  # no such alias or version (e.g. no champion before the first promotion)
        return None
    run = client.get_run(version.run_id).data
    horizon = run.params.get("labels.horizon_days")
    return ModelSet(
        which,
        str(version.version),
        version.run_id,
        run.tags.get(AS_OF),
        int(horizon) if horizon and horizon.isdigit() else None,
    )


def experiment_id(uri: str, experiment: str) -> str | None:
    """The id of the experiment runs are logged to (None before the first run, or without a
    store)."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None  # asking would create an empty store
    found = load_mlflow().MlflowClient(uri).get_experiment_by_name(experiment)
    return found.experiment_id if found else None


def _named(name: str, part: str | None) -> str:
    """A model's name in the registry's map: `<part>_<name>` for a part of a both project."""
    return f"{part}_{name}" if part else name


def load_model_set(
    uri: str,
    files: RunFilesConfig,
    which: str = CHAMPION,
    names=("churn", "upside"),
    part: str | None = None,
) -> ModelSet | None:
    """A registered set (`which`: alias or version; the champion by default) with its models
    `names` loaded (the churn and value scorers; `segml score` adds the segmenter), or None
    (e.g. before the first promotion). `part`: a both project's part's set, its models still
    by their short names."""
    record = model_set(uri, which, part)
    return None if record is None else with_models(record, uri, files, names, part)


def with_models(
    record: ModelSet,
    uri: str,
    files: RunFilesConfig,
    names=("churn", "upside"),
    part: str | None = None,
) -> ModelSet:
    """A set's record (`model_set`) with its models `names` loaded, and the churn window they
    carry."""
    which = record.which
    models = {name: load_registered(uri, _named(name, part), files, which) for name in names}
    # the window the scorers carry (`trained_horizon`); the run's params for sets from before
    horizon = trained_horizon(models["churn"], models["upside"]) or record.horizon_days
    return dataclasses.replace(record, models=models, horizon_days=horizon)


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
    if name.rsplit("_", 1)[-1] in ("churn", "upside") and not hasattr(scorer, "horizon_days_"):
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


def export_key(source: str | Path, columns: Mapping[str, Any]) -> str:
    """Which export a run graded, the same while it grows by later rows: its source as configured
    (the file, folder or pattern of `paths.raw_transactions`, or `segml score --input`; relative
    to the project when inside it) and how its columns are mapped (`data.columns`). Not the
    file's digest: that changes with every new row."""
    path = Path(source)
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:  # outside the project: where it is
        shown = path.resolve().as_posix()
    mapping = {str(k): columns[k] for k in sorted(columns, key=str)}
    text = json.dumps({"source": shown, "columns": mapping}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def export_files(cfg: Config) -> list[str]:
    """The files of the export a run grades (subscribers: spells, payments and usage)."""
    p = cfg.paths
    if cfg.data.kind == "subscriptions":
        return [p.raw_subscriptions, p.raw_payments, p.raw_usage]
    return [p.raw_transactions]


def export_of(cfg: Config) -> str:
    """Which export a run with this config grades: earlier periods are those of it (subscribers:
    the subscriptions file and its column mapping)."""
    if cfg.data.kind == "subscriptions":
        columns = cfg.data.subscriptions.get("columns") or {}
        return export_key(cfg.paths.raw_subscriptions, columns)
    return export_key(cfg.paths.raw_transactions, cfg.data.columns)


@dataclass(frozen=True)
class History:
    """The accepted periods of one export, and the dates earlier runs found for their data."""

    periods: list[Period]
    as_of_of_data: dict[str, str]  # data digest -> the date a run with `as_of: null` graded


def _param_int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def period_history(uri: str, experiment: str, export: str) -> History:
    """Every finished accepted run of `export` (pipeline runs and `segml score` runs; never an
    experiment or a sweep), as periods."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    exp = mlflow.get_experiment_by_name(experiment)
    if exp is None:
        return History([], {})
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and tags.`{ACCEPTED}` = 'true' "
        f"and tags.`{EXPORT}` = '{export}'",
        order_by=["attributes.start_time ASC"],
    )
    periods, found = [], {}
    for row in runs.to_dict("records"):
        as_of = row.get(f"tags.{AS_OF}")
        if not isinstance(as_of, str) or len(as_of) != 10:
            continue
        started = row.get("start_time")
        periods.append(
            Period(
                run_id=str(row["run_id"]),
                as_of=as_of,
                started=int(started.timestamp() * 1000) if hasattr(started, "timestamp") else 0,
                horizon_days=_param_int(row.get("params.labels.horizon_days")),
                active_within_days=_param_int(row.get("params.labels.active_within_days")),
                policy=row.get("params.tiering.primary"),
            )
        )
        from_data = (
            row.get(f"tags.{AS_OF_FROM_DATA}") == "true" or row.get("params.as_of") == "None"
        )
        if from_data and isinstance(row.get("tags.segml.data_sha256"), str):
            found[row["tags.segml.data_sha256"]] = as_of
    return History(periods, found)


def run_period(uri: str, run_id: str) -> Period | None:
    """A run (any: a pin may name an experiment's run) as a period; None when it is gone."""
    mlflow = load_mlflow()
    try:
        run = mlflow.MlflowClient(uri).get_run(run_id)
    except Exception:  # deleted, or another store
        return None
    params, tags = run.data.params, run.data.tags
    return Period(
        run_id=run_id,
        as_of=tags.get(AS_OF, "?"),
        started=int(run.info.start_time or 0),
        horizon_days=_param_int(params.get("labels.horizon_days")),
        active_within_days=_param_int(params.get("labels.active_within_days")),
        policy=params.get("tiering.primary"),
    )


def pinned_previous(
    ref: str | None, uri: str, experiment: str, export: str, as_of: str
) -> Period | None:
    """The previous period of a run as of `as_of`, from its pin `run:<id>`: that run when it
    graded an earlier date. A pin made before the date was known (`as_of: null` on data no run has
    seen) may name a later one: then the accepted period of the export just before `as_of`."""
    if not ref or not ref.startswith("run:"):
        return None
    pinned = run_period(uri, ref.removeprefix("run:"))
    if pinned is not None and pinned.as_of < as_of:
        return pinned
    return previous_period(period_history(uri, experiment, export).periods, as_of)


def previous_ref(
    previous: str | None, uri: str, experiment: str, export: str, as_of: str | None
) -> str | None:
    """Pin the previous period: run:<id> of the export's accepted period just before `as_of`
    (the latest when the date is not known yet: the stage checks it against its date),
    file:<digest> of a table, or None."""
    if not previous:
        return None
    if previous == "accepted":
        found = previous_period(period_history(uri, experiment, export).periods, as_of)
        return f"run:{found.run_id}" if found else None
    return f"file:{file_digest(previous)[:12]}" if Path(previous).exists() else None


def period_base(uri: str, run_id: str, files: RunFilesConfig) -> pd.DataFrame | None:
    """The per-customer table a run logged for later periods (ids, tiers, status, value, scores
    and the main features; its full table for runs before that), or None."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    for artifact in (files.movement_base, files.full_table):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=artifact, dst_path=tmp
                )
            except Exception:  # that run did not log this table
                continue
            return io.read_parquet(path)
    return None


def with_current_ids(
    table: pd.DataFrame, current_ids: pd.Series, salt: str | None
) -> pd.DataFrame | None:
    """A logged table with today's clear ids where its pseudonyms match `current_ids` under
    `salt` (customers who left keep their pseudonym); None when no customer is in common (e.g.
    logged under another salt)."""
    if s.CUSTOMER_ID not in table:
        return None
    table = table.assign(**{s.CUSTOMER_ID: restore_ids(table[s.CUSTOMER_ID], current_ids, salt)})
    return table if table[s.CUSTOMER_ID].isin(current_ids.astype(str)).any() else None


def previous_tiers(
    previous: str | None,
    ref: str | None,
    uri: str,
    experiment: str,
    export: str,
    files: RunFilesConfig,
    as_of: str,
    current_ids: pd.Series,
    salt: str | None = None,
) -> tuple[pd.DataFrame | None, Period | None]:
    """The previous period's tier table for movement, and the period (or None, None).

    A table logged with pseudonyms gets today's clear ids back (`with_current_ids`); one with no
    customer in common with today's cannot show movement.
    """
    if not previous or not ref:
        return None, None
    if ref.startswith("run:"):
        period = pinned_previous(ref, uri, experiment, export, as_of)
        table = period_base(uri, period.run_id, files) if period else None
    else:
        table = io.read_parquet(previous)
        dates = table["as_of"].dropna().astype(str) if "as_of" in table else pd.Series(dtype=str)
        period = Period("", dates.iloc[0] if len(dates) else "", source=str(previous))
    if table is None:
        return None, None
    table = with_current_ids(table, current_ids, salt)
    return (table, period) if table is not None else (None, None)


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

    def record(entry: str) -> dict:
        """A DVC metrics entry's whole record: its details file, or (a run logged before metrics
        had details) the metrics file itself."""
        logged = {
            a.path for a in mlflow.MlflowClient(uri).list_artifacts(version.run_id, "metrics")
        }
        details = f"{entry}{DETAILS}"
        if f"metrics/{catalog.path(details).name}" in logged:
            return fetch("metrics", details)
        return fetch("metrics", entry)

    metrics = {target: record(f"{target}_metrics") for target in ("churn", "upside")}
    plots = {p: fetch("plots", f"{p}_plot") for p in ("calibration", "deciles", "lift", "backtest")}
    return metrics, plots, fetch("tables", "segment_profile")
