"""Logging a pipeline run to MLflow: params, metrics, tags, tables, models, registration, promotion.

Reading earlier runs back is `run_history`; the connection both share is `mlflow_store`.

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

import dataclasses
import hashlib
import json
import os
import re
import tempfile
import time
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
from segml.data.catalog import DETAILS, Catalog
from segml.data.provenance import file_digest, git_commit
from segml.errors import ConfigError
from segml.reporting import model_export as mx
from segml.reporting.mlflow_store import (
    ACCEPTED,
    AS_OF,
    AS_OF_FROM_DATA,
    CHAMPION,
    EXPORT,
    KIND,
    PERIOD,
    REGISTERED,
    connect,
)
from segml.reporting.privacy import pseudonymize
from segml.reporting.run_history import export_files, export_key, export_of, period_key
from segml.tiering.audit import audit_metrics
from segml.tiering.policies import TIER_COLUMNS as POLICY_TIER_COLUMNS

# the catalog's metrics files, logged with every run
METRICS_FILES = (
    "data_quality",
    "schedule",
    "segment_metrics",
    "churn_metrics",
    "upside_metrics",
    "tier_metrics",
    "window_metrics",  # only when `segml window` has been run
    "audit_metrics",
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
# the tier columns movement compares next period: the headline tier and each policy's column
TIER_COLUMNS = ("tier", *POLICY_TIER_COLUMNS.values())
COUNTED_COLUMNS = (*TIER_COLUMNS, "lifecycle_status", "persona", "tier_change")
# what a later period reads of this one per customer (the movement base): grades and status for
# movement and the audit's tables, value and scores for "why" and for what came true, the main
# features for drift (with `audit.psi_columns`)
BASE_COLUMNS = (
    *TIER_COLUMNS,
    "lifecycle_status",
    "current_value",
    "predicted_value",
    "churn_probability",
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
)


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
    extra_base_columns: tuple[str, ...] = (),
) -> dict[str, pd.DataFrame]:
    """The tables a run logs, keyed by artifact path (pure: no MLflow, no files).

    `exported` is the table as exported (language, column allow-list and pseudonyms applied);
    `tiers` the tier stage's table, used only for counts and for the movement base (`BASE_COLUMNS`
    and `extra_base_columns` within the allow-list; ids pseudonymised here when
    `export.pseudonymize_ids` is on).
    """
    n = min(int(cfg.sample_rows), len(exported))
    sample = exported.sample(n=n, random_state=0).sort_index() if n else exported.head(0)
    tables = {files.tier_sample: sample, files.tier_counts: tier_counts(tiers)}
    if cfg.log_full_table:
        tables[files.full_table] = exported
    allowed = set(tiers.columns) if export_cfg.columns is None else set(export_cfg.columns)
    if s.CUSTOMER_ID in allowed and s.CUSTOMER_ID in tiers:  # the allow-list binds here too
        wanted = dict.fromkeys([*BASE_COLUMNS, *extra_base_columns])
        base = tiers[[s.CUSTOMER_ID, *[c for c in wanted if c in tiers and c in allowed]]]
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
    promote: tuple[bool, str] | dict[str, tuple[bool, str]] = (True, ""),
) -> dict:
    """Record one pipeline execution; register its models as a set, and move `champion` to the whole
    set or not at all (`promote`: the decision and its reason, see models.promotion.challenge).

    `models`: name -> (fitted segml object, rows whose model columns make its input example).
    `tables`: artifact path -> frame (see `run_tables`). `artifacts`: folder -> files to log.
    """
    mlflow = connect(uri, experiment)
    flat_metrics = flatten(metrics)
    decisions: dict[str, str] = {}
    digest = config_digest(params)
    with mlflow.start_run(run_name=run_name(tags.get(AS_OF), params)) as run:
        mlflow.set_tags(
            {**tags, "segml.config_digest": digest, **override_tags(list(overrides or []))}
        )
        flat_params = {
            _key(k): str(v)[:6000]
            for k, v in flatten(params).items()
            if not k.startswith(VERBOSE_PARAMS)
        }
        if params.get("as_of") is None and tags.get(AS_OF):
            # `as_of: null` means the last date in the data: the param says which date that was,
            # the tag that it was the data's (a later run of the same data knows its date)
            flat_params["as_of"] = tags[AS_OF]
            mlflow.set_tag(AS_OF_FROM_DATA, "true")
        items = list(flat_params.items())
        for i in range(0, len(items), 100):  # MLflow caps params per batch
            mlflow.log_params(dict(items[i : i + 100]))
        for folder, local_files in artifacts.items():
            for path in local_files:
                if Path(path).is_file():
                    mlflow.log_artifact(str(path), artifact_path=folder)
                elif Path(path).is_dir():  # a table written in partitions (engine: dask)
                    mlflow.log_artifacts(str(path), artifact_path=f"{folder}/{Path(path).name}")
        _log_tables(mlflow, tables or {})
        versions, model_ids = {}, {}
        for name, (model, rows) in models.items():
            info = _log_model(mlflow, name, model, rows, files)
            model_ids[name] = info.model_id
            if register:
                versions[name] = _register(mlflow, info, name, run.info.run_id)
        # after the models: logging a model links every metric the run has so far to it, one
        # history query per metric (~9 s for ~400 metrics and three models)
        _log_metrics(mlflow, run.info.run_id, _numeric(flat_metrics), model_ids)
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
    promote: tuple[bool, str] | dict[str, tuple[bool, str]] = (True, ""),
) -> dict:
    """Record a pipeline run from the catalog's artifacts: params (params.yaml), every stage's
    metrics, grades and scorers as tags, the portable models (`example_rows`, the snapshot's first
    rows, give their input examples), the logged tables and files."""
    paths = cfg.paths
    model_metrics = model_records(metrics)
    data_digest = file_digest(*export_files(cfg), paths.raw_customers)
    metrics = with_flat_audit(metrics)
    return log_pipeline_run(
        cfg.tracking.uri,
        cfg.tracking.experiment,
        params=io.read_yaml(PARAMS_FILE),
        metrics=metrics,
        tags={
            "segml.git_commit": git_commit(),
            "segml.data_sha256": data_digest,
            AS_OF: str(tiers["as_of"].iloc[0]),
            "segml.data_source": export_files(cfg)[0],
            "segml.tier_policy": cfg.tiering.primary,
            # runs inside `dvc exp run` are experiments: later periods never compare with them
            ACCEPTED: "false" if os.environ.get("DVC_EXP_NAME") else "true",
            PERIOD: period_key(data_digest, cfg.as_of),
            EXPORT: export_of(cfg),
            KIND: "pipeline",
            **previous_tags(metrics.get("tiers", {})),
            **{f"segml.grade.{k}": v["summary"]["verdict_en"] for k, v in model_metrics.items()},
            **{
                f"segml.scorer.{k}": v["production"]["scorer_reason_en"]
                for k, v in model_metrics.items()
            },
            **forecast_tags(catalog.read("schedule"), model_metrics),
        },
        models={name: (model, _rows(example_rows, name)) for name, model in models.items()},
        tables=run_tables(
            exports.table,
            tiers,
            cfg.export,
            cfg.tracking,
            salt,
            paths.in_mlflow_run,
            (*cfg.audit.psi_columns, "churn_kind"),  # data.kind both: which churn
        ),
        artifacts={
            "tables": [catalog.path("segment_profile")],
            "exports": [
                catalog.path(n)
                for n in written
                if (cfg.tracking.log_report if n == "report" else cfg.tracking.log_full_table)
            ],
            "plots": sorted(catalog.path("backtest_plot").parent.glob("*")),
            # each DVC metrics file and its details: the whole record is what later runs read
            "metrics": [
                catalog.path(n)
                for name in METRICS_FILES
                for n in (name, f"{name}{DETAILS}")
                if n in catalog.paths  # the churn window study has no details file
            ],
            "config": [Path(PARAMS_FILE)],
        },
        register=cfg.tracking.register_models,
        auto_promote=cfg.tracking.auto_promote,
        files=paths.in_mlflow_run,
        overrides=recorded_overrides(),
        promote=promote,
    )


def model_records(metrics: dict) -> dict:
    """The churn and value models' records by name; a `data.kind: both` run's by part too
    (`churn.subscriptions`, ...)."""
    out = {}
    for target in ("churn", "upside"):
        parts = metrics[target].get("parts")
        out |= (
            {f"{target}.{p}": r for p, r in parts.items()} if parts else {target: metrics[target]}
        )
    return out


def _rows(example_rows, name: str) -> pd.DataFrame:
    """A model's input example: the snapshot's first rows, or its part's (by model name)."""
    return example_rows[name] if isinstance(example_rows, dict) else example_rows


def forecast_tags(schedule: dict, model_metrics: dict) -> dict[str, str]:
    """How the cutoff schedule was chosen (and its resolved keys), whether each blend scores, and
    the value forecast's total error, as tags."""
    tags = {}
    choice = schedule.get("schedule_choice")
    if choice:
        tags["segml.schedule"] = f"{choice['chosen']}: {choice['why']}"[:5000]
        tags.update({f"segml.schedule.{k}": str(v) for k, v in choice["values"].items()})
    for target, values in model_metrics.items():
        blend = values.get("summary", {}).get("blend")
        if blend:
            tags[f"segml.blend.{target}"] = blend["verdict_en"][:5000]
    forecast = model_metrics.get("upside", {}).get("forecast")
    if forecast:
        tags["segml.forecast.total"] = forecast["total_error_en"][:5000]
    return tags


def previous_tags(tier_metrics: dict) -> dict[str, str]:
    """The period movement compared with, as tags (a column in the MLflow UI)."""
    found = {
        "segml.previous_as_of": tier_metrics.get("previous_as_of"),
        "segml.previous_run": tier_metrics.get("previous_run"),
    }
    return {k: str(v) for k, v in found.items() if v}


def with_flat_audit(metrics: dict) -> dict:
    """The stages' metrics with the audit's record as flat numbers named by period (MLflow
    metrics are numbers, `audit_metrics`)."""
    audit = metrics.get("audit")
    return {**metrics, **({"audit": audit_metrics(audit)} if audit else {})}


def record_scoring_run(
    cfg: Config,
    tiers: pd.DataFrame,
    exported: pd.DataFrame,
    metrics: dict,
    salt: str | None,
    model_set: dict | None,
    data_digest: str,
) -> dict:
    """Record a `segml score` run: an accepted period like a pipeline run (the same movement base,
    so later periods compare with it and audit it), with the registered model set it scored with
    named in its tags; no models are logged or registered. `cfg.paths.raw_transactions` is the
    scored file."""
    paths = cfg.paths
    metrics = with_flat_audit(metrics)
    described = (model_set or {}).get("en", "unknown models")
    return log_pipeline_run(
        cfg.tracking.uri,
        cfg.tracking.experiment,
        params=dataclasses.asdict(cfg),
        metrics=metrics,
        tags={
            AS_OF: str(tiers["as_of"].iloc[0]),
            "segml.data_sha256": data_digest,
            "segml.data_source": str(paths.raw_transactions),
            "segml.tier_policy": cfg.tiering.primary,
            "segml.models": described[:5000],
            "segml.git_commit": git_commit(),
            ACCEPTED: "true",
            PERIOD: period_key(data_digest, cfg.as_of),
            EXPORT: export_key(paths.raw_transactions, cfg.data.columns),
            KIND: "score",
            **previous_tags(metrics.get("tiers", {})),
        },
        models={},
        artifacts={},
        register=False,
        auto_promote=False,
        files=paths.in_mlflow_run,
        tables=run_tables(
            exported,
            tiers,
            cfg.export,
            cfg.tracking,
            salt,
            paths.in_mlflow_run,
            (*cfg.audit.psi_columns, "churn_kind"),  # data.kind both: which churn
        ),
    )


def _log_metrics(mlflow, run_id: str, metrics: dict[str, float], model_ids: dict[str, str]):
    """The run's metrics, each model's own (churn.*, upside.*, segment.*) linked to it in the
    UI's model view."""
    from mlflow.entities import Metric

    owner = {"segment": "segmenter"}  # metrics key -> model name, where they differ
    now = int(time.time() * 1000)
    rows = []
    for key, value in metrics.items():
        stage = key.split(".")[0]
        model_id = model_ids.get(owner.get(stage, stage))
        rows.append(Metric(key, value, now, 0, run_id=run_id, model_id=model_id))
    client = mlflow.MlflowClient()
    for start in range(0, len(rows), 1000):  # MLflow's cap per batch
        client.log_batch(run_id, metrics=rows[start : start + 1000])


def _log_tables(mlflow, tables: dict[str, pd.DataFrame]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = Catalog({artifact: Path(tmp) / artifact for artifact in tables})
        for artifact, frame in tables.items():
            path = files.write(artifact, frame)  # by suffix, as every artifact is written
            mlflow.log_artifact(str(path), artifact_path=str(Path(artifact).parent))


def _log_model(mlflow, name: str, model: Any, rows: pd.DataFrame, files: RunFilesConfig):
    """A portable pyfunc model (no pickle), and the segml object beside it for `segml score`."""
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
            signature=mx.signature(portable, example, output),
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


def _register(mlflow, info, name: str, run_id: str) -> str:
    """Register a version of one model of the run's set (`info`: the logged model); returns its
    version number. Through the client, which registers quietly (`mlflow.register_model` prints
    "Successfully registered model ..." and "Created version ..." on every run)."""
    client = mlflow.MlflowClient()
    registered = REGISTERED[name]
    if not client.search_registered_models(filter_string=f"name = '{registered}'"):
        client.create_registered_model(registered)
    version = client.create_model_version(
        registered,
        source=info.model_uri,
        run_id=run_id,
        tags={"run_id": run_id},
        model_id=info.model_id,
    )
    return str(version.version)


def _promote(
    mlflow,
    versions: dict[str, str],
    promote: tuple[bool, str] | dict[str, tuple[bool, str]],
    auto_promote: bool,
) -> dict[str, str]:
    """Move `champion` to every model of the set together, or to none; each decision says why.
    `promote` per part (`data.kind: both`: {"subscriptions": (wins, reason), ...}): each part's
    models (`<part>_<model>`) move together by their part's decision, whatever the other's."""
    if isinstance(promote, tuple):
        return _promote_set(mlflow, versions, promote, auto_promote, "its set")
    decisions = {}
    for part, decided in promote.items():
        mine = {n: v for n, v in versions.items() if n.startswith(f"{part}_")}
        decisions |= _promote_set(mlflow, mine, decided, auto_promote, f"the {part} set")
    return decisions


def _promote_set(
    mlflow, versions: dict[str, str], promote: tuple[bool, str], auto_promote: bool, which: str
) -> dict[str, str]:
    wins, reason = promote
    if not auto_promote:
        return {
            name: f"registered v{v}; auto_promote off ({reason})" for name, v in versions.items()
        }
    kept = "the champion set" if which == "its set" else f"{which}'s champion"
    if not wins:
        return {name: f"registered v{v}; kept {kept}: {reason}" for name, v in versions.items()}
    client = mlflow.MlflowClient()
    for name, version in versions.items():
        client.set_registered_model_alias(REGISTERED[name], CHAMPION, version)
    return {
        name: f"promoted v{v} with {which} to champion: {reason}" for name, v in versions.items()
    }
