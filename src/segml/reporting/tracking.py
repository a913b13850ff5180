"""The only module that talks to MLflow: runs, metrics, models, registry aliases, past tier tables.

What a run records (README, "Experiments, MLflow and monthly scoring"):
- params (flattened config), metrics, tags (git commit, data digest, overrides, grades);
- run name "<as_of> · <config digest>", so runs that differ in settings differ in name;
- each model as a portable pyfunc model (segml/portable_model.py + JSON spec + LightGBM text
  file: loads with numpy, pandas and lightgbm, no segml), registered, with a signature and an
  input example that holds no id and no attribute value; the segml object itself is logged beside
  it (`paths.in_mlflow_run.model_object`) for `segml score` only;
- tables: a sample of the exported tier table plus counts (full table only with
  `tracking.log_full_table`), and the ids + tier columns that movement compares next time;
  ids pseudonymised whenever `export.pseudonymize_ids` is on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from segml.config import (
    PARAMS_FILE,
    Config,
    ExportConfig,
    RunFilesConfig,
    TrackingConfig,
    recorded_overrides,
)
from segml.data import io
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.errors import ConfigError
from segml.reporting import model_export as mx
from segml.reporting.privacy import pseudonymize, restore_ids
from segml.tiering.policies import TIER_COLUMNS as POLICY_TIER_COLUMNS

CHAMPION = "champion"
ACCEPTED = "segml.accepted"  # a pipeline run movement may compare with (not an experiment or sweep)
PERIOD = "segml.period"  # what a run graded (`period_key`)
# the catalog's metrics files, logged with every run
METRICS_FILES = (
    "data_quality",
    "schedule",
    "segment_metrics",
    "churn_metrics",
    "upside_metrics",
    "tier_metrics",
)
# Long text tables of the config (phrases, actions, headers) go in the logged params.yaml, not in params.
VERBOSE_PARAMS = (
    "tiering.actions",
    "tiering.reasons",
    "tiering.value_potential.cells",
    "export.headers",
    "segment.personas",
)
# Settings that do not change results: left out of the config digest in run names.
DIGEST_EXCLUDED = ("paths", "tracking")
REGISTERED = {"churn": "segml-churn", "upside": "segml-upside", "segmenter": "segml-segmenter"}
# the columns movement compares next period: the headline tier and each policy's column
TIER_COLUMNS = ("tier", *POLICY_TIER_COLUMNS.values())
COUNTED_COLUMNS = (*TIER_COLUMNS, "lifecycle_status", "persona", "tier_change")


def _mlflow():
    import logging

    import mlflow  # imported lazily: importing mlflow is slow and has side effects

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # keep the console readable
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
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


def _key(name: str) -> str:
    """A param or tag key MLflow accepts (letters, digits, _ - . space : /)."""
    return re.sub(r"[^\w\-. :/]", "_", name)


def config_digest(params: Mapping) -> str:
    """7 hex of a SHA-256 over the settings that change results (not paths, not tracking)."""
    kept = {k: v for k, v in params.items() if k not in DIGEST_EXCLUDED}
    text = json.dumps(kept, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:7]


def run_name(as_of: str | None, params: Mapping) -> str:
    """e.g. "2025-12-31 · a1b2c3d": same date and settings, same name."""
    return f"{as_of or 'no date'} · {config_digest(params)}"


def override_tags(overrides: list[str]) -> dict[str, str]:
    """`segml.overrides` with all of them, and one `override.<key>` tag each (a column in the UI)."""
    tags = {"segml.overrides": " ".join(overrides) if overrides else "(none)"}
    for item in overrides:
        key, _, value = item.partition("=")
        tags[_key(f"override.{key.lstrip('+~')}")[:250]] = value[:5000]
    return tags


def run_tables(
    exported: pd.DataFrame,
    tiers: pd.DataFrame,
    export_cfg: ExportConfig,
    cfg: TrackingConfig,
    salt: str | None,
    files: RunFilesConfig,
) -> dict[str, pd.DataFrame]:
    """The tables a run logs, keyed by artifact path (pure: no MLflow, no files).

    `exported` is the table as exported (language, column allow-list and pseudonyms applied);
    `tiers` the tier stage's table, used only for counts and for the movement base (its ids are
    pseudonymised here when `export.pseudonymize_ids` is on).
    """
    n = min(int(cfg.sample_rows), len(exported))
    sample = exported.sample(n=n, random_state=0).sort_index() if n else exported.head(0)
    tables = {files.tier_sample: sample, files.tier_counts: tier_counts(tiers)}
    if cfg.log_full_table:
        tables[files.full_table] = exported
    allowed = set(tiers.columns) if export_cfg.columns is None else set(export_cfg.columns)
    if s.CUSTOMER_ID in allowed and s.CUSTOMER_ID in tiers:  # the allow-list binds here too
        base = tiers[[s.CUSTOMER_ID, *[c for c in TIER_COLUMNS if c in tiers and c in allowed]]]
        if export_cfg.pseudonymize_ids:
            if not salt:
                raise ConfigError(
                    f"export.pseudonymize_ids is on but the environment variable "
                    f"{export_cfg.salt_env} is empty: set it to a secret salt."
                )
            base = base.assign(**{s.CUSTOMER_ID: pseudonymize(base[s.CUSTOMER_ID], salt)})
        tables[files.movement_base] = base
    return tables


def tier_counts(tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers per value of each grade/status column (long format: column, value, customers, share)."""
    frames = []
    for column in COUNTED_COLUMNS:
        if column in tiers:
            counts = tiers[column].astype(str).value_counts().sort_index()
            frames.append(
                pd.DataFrame(
                    {
                        "column": column,
                        "value": counts.index,
                        "customers": counts.to_numpy(),
                        "share": (counts / max(len(tiers), 1)).round(4).to_numpy(),
                    }
                )
            )
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["column", "value", "customers", "share"])
    )


def log_pipeline_run(
    uri: str,
    experiment: str,
    params: dict,
    metrics: dict,
    tags: dict[str, str],
    models: dict[str, tuple[Any, pd.DataFrame]],
    artifacts: dict[str, list[Path]],
    register: bool,
    auto_promote: bool,
    files: RunFilesConfig,
    tables: dict[str, pd.DataFrame] | None = None,
    overrides: list[str] | None = None,
    promote: tuple[bool, str] = (True, ""),
) -> dict:
    """Record one pipeline execution; register its models as a set, and move `champion` to the whole
    set or not at all (`promote`: the decision and its reason, see models.training.challenge).

    `models`: name -> (fitted segml object, rows whose model columns make its input example).
    `tables`: artifact path -> frame (see `run_tables`). `artifacts`: folder -> files to log.
    """
    mlflow = connect(uri, experiment)
    flat_metrics = flatten(metrics)
    decisions: dict[str, str] = {}
    digest = config_digest(params)
    with mlflow.start_run(run_name=run_name(tags.get("segml.as_of"), params)) as run:
        mlflow.set_tags(
            {**tags, "segml.config_digest": digest, **override_tags(list(overrides or []))}
        )
        flat_params = {
            _key(k): str(v)[:6000]
            for k, v in flatten(params).items()
            if not k.startswith(VERBOSE_PARAMS)
        }
        items = list(flat_params.items())
        for i in range(0, len(items), 100):  # MLflow caps params per batch
            mlflow.log_params(dict(items[i : i + 100]))
        mlflow.log_metrics(_numeric(flat_metrics))
        for folder, local_files in artifacts.items():
            for path in local_files:
                if Path(path).is_file():
                    mlflow.log_artifact(str(path), artifact_path=folder)
                elif Path(path).is_dir():  # a table written in partitions (engine: dask)
                    mlflow.log_artifacts(str(path), artifact_path=f"{folder}/{Path(path).name}")
        _log_tables(mlflow, tables or {})
        versions = {}
        for name, (model, rows) in models.items():
            info = _log_model(mlflow, name, model, rows, files)
            if register:
                versions[name] = _register(mlflow, name, info.model_uri, run.info.run_id)
        if versions:
            decisions = _promote(mlflow, versions, promote, auto_promote)
        mlflow.set_tags({f"segml.promotion.{k}": v for k, v in decisions.items()})
        return {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "promotion": decisions,
        }


def record_pipeline_run(
    cfg: Config,
    catalog: Catalog,
    exports,
    tiers: pd.DataFrame,
    metrics: dict,
    models: dict,
    example_rows: pd.DataFrame,
    salt: str | None,
    written: list[str],
    promote: tuple[bool, str] = (True, ""),
) -> dict:
    """Record a pipeline run from the catalog's artifacts: params (params.yaml), every stage's
    metrics, grades and scorers as tags, the portable models (`example_rows`, the snapshot's first
    rows, give their input examples), the logged tables and files."""
    paths = cfg.paths
    model_metrics = {k: metrics[k] for k in ("churn", "upside")}
    data_digest = io.file_digest(paths.raw_transactions, paths.raw_customers)
    return log_pipeline_run(
        cfg.tracking.uri,
        cfg.tracking.experiment,
        params=io.read_yaml(PARAMS_FILE),
        metrics=metrics,
        tags={
            "segml.git_commit": io.git_commit(),
            "segml.data_sha256": data_digest,
            "segml.as_of": str(tiers["as_of"].iloc[0]),
            "segml.data_source": paths.raw_transactions,
            "segml.tier_policy": cfg.tiering.primary,
            # runs inside `dvc exp run` are experiments: later periods never compare with them
            ACCEPTED: "false" if os.environ.get("DVC_EXP_NAME") else "true",
            PERIOD: period_key(data_digest, cfg.as_of),
            **{f"segml.grade.{k}": v["summary"]["verdict_en"] for k, v in model_metrics.items()},
            **{
                f"segml.scorer.{k}": v["production"]["scorer_reason_en"]
                for k, v in model_metrics.items()
            },
        },
        models={name: (model, example_rows) for name, model in models.items()},
        tables=run_tables(
            exports.table, tiers, cfg.export, cfg.tracking, salt, paths.in_mlflow_run
        ),
        artifacts={
            "tables": [catalog.path("segment_profile")],
            "exports": [
                catalog.path(n)
                for n in written
                if (cfg.tracking.log_report if n == "report" else cfg.tracking.log_full_table)
            ],
            "plots": sorted(catalog.path("backtest_plot").parent.glob("*")),
            "metrics": [catalog.path(n) for n in METRICS_FILES],
            "config": [Path(PARAMS_FILE)],
        },
        register=cfg.tracking.register_models,
        auto_promote=cfg.tracking.auto_promote,
        files=paths.in_mlflow_run,
        overrides=recorded_overrides(),
        promote=promote,
    )


def _log_tables(mlflow, tables: dict[str, pd.DataFrame]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = Catalog({artifact: Path(tmp) / artifact for artifact in tables})
        for artifact, frame in tables.items():
            path = files.write(artifact, frame)  # by suffix, as every artifact is written
            mlflow.log_artifact(str(path), artifact_path=str(Path(artifact).parent))


def _log_model(mlflow, name: str, model: Any, rows: pd.DataFrame, files: RunFilesConfig):
    """A portable pyfunc model (no pickle), and the segml object beside it for `segml score`."""
    from mlflow.models import infer_signature

    portable = mx.to_portable(model)
    example = mx.input_example(portable, rows)
    output = mx.reference_output(model, example)
    with tempfile.TemporaryDirectory() as tmp:
        parts = {"spec": io.write_json(portable.spec, Path(tmp) / files.model_spec)}
        if portable.booster_text is not None:
            parts["booster"] = io.write_text(portable.booster_text, Path(tmp) / files.model_booster)
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(mx.CODE_FILE),
            artifacts={k: str(v) for k, v in parts.items()},
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=_requirements(
                portable.requirements
            ),  # explicit: inferring them takes seconds
        )
        artifact = Path(files.model_object.format(name=name))
        pickled = io.save_pickle(model, Path(tmp) / artifact.name)
        mlflow.log_artifact(str(pickled), artifact_path=str(artifact.parent))
    return info


def _requirements(packages: tuple[str, ...]) -> list[str]:
    """Pinned versions of what the portable model imports (MLflow adds itself)."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in packages]


def _register(mlflow, name: str, model_uri: str, run_id: str) -> str:
    """Register a version of one model of the run's set; returns its version number."""
    client = mlflow.MlflowClient()
    version = mlflow.register_model(model_uri, REGISTERED[name])
    client.set_model_version_tag(REGISTERED[name], version.version, "run_id", run_id)
    return str(version.version)


def _promote(
    mlflow, versions: dict[str, str], promote: tuple[bool, str], auto_promote: bool
) -> dict[str, str]:
    """Move `champion` to every model of the set together, or to none; each decision says why."""
    wins, reason = promote
    if not auto_promote:
        return {
            name: f"registered v{v}; auto_promote off ({reason})" for name, v in versions.items()
        }
    if not wins:
        return {
            name: f"registered v{v}; kept the champion set: this run {reason}"
            for name, v in versions.items()
        }
    client = mlflow.MlflowClient()
    for name, version in versions.items():
        client.set_registered_model_alias(REGISTERED[name], CHAMPION, version)
    return {
        name: f"promoted v{v} with its set to champion: {reason}" for name, v in versions.items()
    }


def load_champion_set(uri: str, files: RunFilesConfig) -> tuple[dict | None, int | None]:
    """The champion set's segml objects and the churn horizon its run was trained for (None, None
    before the first promotion)."""
    mlflow = _mlflow()
    client = mlflow.MlflowClient(uri)
    try:
        version = client.get_model_version_by_alias(REGISTERED["churn"], CHAMPION)
    except Exception:  # no champion yet
        return None, None
    horizon = client.get_run(version.run_id).data.params.get("labels.horizon_days")
    return (
        {name: load_registered(uri, name, files) for name in ("churn", "upside")},
        int(horizon) if horizon else None,
    )


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
    mlflow = _mlflow()
    client = mlflow.MlflowClient(uri)
    registered = REGISTERED[name]
    version = (
        client.get_model_version(registered, str(which))
        if str(which).isdigit()
        else client.get_model_version_by_alias(registered, which)
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=version.run_id,
            artifact_path=files.model_object.format(name=name),
            dst_path=tmp,
            tracking_uri=uri,
        )
        return io.load_pickle(path)


def load_portable(uri: str, name: str, which: str = CHAMPION):
    """The registered portable pyfunc model (what a system without segml would load)."""
    mlflow = _mlflow()
    mlflow.set_tracking_uri(uri)
    return mlflow.pyfunc.load_model(_model_ref(name, which))


def period_key(data_digest: str, as_of: str | None) -> str:
    """What a run graded: its input data and scoring date (reruns with other settings share it)."""
    return hashlib.sha256(f"{data_digest}|{as_of}".encode()).hexdigest()[:12]


def last_accepted_run(uri: str, experiment: str, other_than: str | None = None) -> str | None:
    """The newest finished pipeline run tagged accepted (not an experiment or a sweep) of another
    period than `other_than` (a `period_key`): the previous period, not a rerun of this one."""
    mlflow = _mlflow()
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
    return f"file:{io.file_digest(previous)[:12]}" if Path(previous).exists() else None


def previous_tier_table(
    uri: str, run_id: str, files: RunFilesConfig
) -> tuple[pd.DataFrame, str] | None:
    """Ids and tier columns logged by a run, and the date it graded (its `segml.as_of`)."""
    mlflow = _mlflow()
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
    mlflow = _mlflow()
    client = mlflow.MlflowClient(uri)
    name = REGISTERED["churn"]
    version = (
        client.get_model_version(name, str(which))
        if str(which).isdigit()
        else client.get_model_version_by_alias(name, which)
    )

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
