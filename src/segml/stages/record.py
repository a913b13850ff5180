"""The record stage (the DVC pipeline's last step, after export): the run in MLflow, with its
params, every stage's metrics, the models (registered, and promoted when they beat the champion
on this run's backtest folds) and the logged tables and files."""

from __future__ import annotations

from segml.config import Config, export_salt
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.schema import CUTOFF
from segml.features.schedule import Schedule
from segml.models.promotion import challenge, fold_cutoffs
from segml.reporting import run_history, run_logger
from segml.reporting.exports import Exports, export_table
from segml.stages.artifacts import exported_names, read_models
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine

STAGE_METRICS = {
    "data_quality": "data_quality",
    "segment": "segment_metrics",
    "churn": "churn_metrics",
    "upside": "upside_metrics",
    "tiers": "tier_metrics",
}


def promotion(cfg: Config, catalog: Catalog, metrics: dict, schedule: Schedule) -> tuple[bool, str]:
    """Whether this run's models may replace the champion: the champion is re-scored on this run's
    backtest folds (only their rows are read)."""
    champion, horizon = run_history.load_champion_set(cfg.tracking.uri, cfg.paths.in_mlflow_run)
    folds = fold_cutoffs({k: metrics[k] for k in ("churn", "upside")})
    return challenge(
        champion,
        catalog.read("labelled", filters=[(CUTOFF, "in", folds)]) if champion else None,
        schedule,
        metrics,
        horizon,
    )


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    salt = export_salt(cfg.export)
    schedule = schedule_of(cfg, catalog)  # before anything is read or logged
    metrics = {key: catalog.read(name) for key, name in STAGE_METRICS.items()}
    promote = promotion(cfg, catalog, metrics, schedule)
    io.release_arrow_memory()  # the folds' rows are gone before the tier table is read
    tiers = catalog.read("tiers")
    run = run_logger.record_pipeline_run(
        cfg,
        catalog,
        Exports(export_table(tiers, cfg.export, salt), None, None),
        tiers,
        metrics,
        read_models(catalog),
        catalog.read_head("snapshot", 5),  # the models' input examples
        salt,
        exported_names(cfg.export),
        promote,
    )
    catalog.write("mlflow_run", run)
