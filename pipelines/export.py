"""DVC stage `export`: tables, workbook and report for business users; the run recorded in MLflow."""

from segml.app.artifacts import EXPORT_NAMES, read_plots, read_tiers, write_exports
from segml.app.console import console, run_stage
from segml.app.engine import dask_engine
from segml.app.params import load_config
from segml.config import Config, export_salt
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.schema import CUTOFF
from segml.features.datasets import schedule_from_summary
from segml.models.promotion import challenge, fold_cutoffs
from segml.reporting import run_history
from segml.reporting import run_logger as tracking
from segml.reporting.exports import MATRIX_COLUMNS, Exports, export_stage, report_inputs
from segml.reporting.partitioned import TABLE_FORMATS, write_partitioned_tables

STAGE_METRICS = {
    "data_quality": "data_quality",
    "segment": "segment_metrics",
    "churn": "churn_metrics",
    "upside": "upside_metrics",
    "tiers": "tier_metrics",
}


def write_on_dask(cfg: Config, catalog: Catalog, exports: Exports, salt: str | None) -> list[str]:
    """The exported table written per partition of the tier table; the workbook and report here."""
    tables = [f for f in cfg.export.formats if f in TABLE_FORMATS]
    if tables:
        with dask_engine(cfg.dask) as engine:
            outputs = {f: catalog.path(EXPORT_NAMES[f]) for f in tables}
            write_partitioned_tables(engine, catalog.path("tiers"), cfg.export, salt, outputs)
    rest = [f for f in cfg.export.formats if f not in TABLE_FORMATS]
    return [EXPORT_NAMES[f] for f in tables] + write_exports(catalog, exports, rest)


def main() -> None:
    cfg = load_config()
    salt = export_salt(
        cfg.export
    )  # stops before anything is written when the salt is missing or stale
    catalog = Catalog.from_config(cfg.paths)
    metrics = {key: catalog.read(name) for key, name in STAGE_METRICS.items()}
    models = {name: catalog.read(f"{name}_model") for name in ("churn", "upside")} | {
        "segmenter": catalog.read("segmenter")
    }
    champion, horizon = run_history.load_champion_set(cfg.tracking.uri, cfg.paths.in_mlflow_run)
    # the champion is re-scored on this run's backtest folds: read only their rows, and only then;
    # before the tier table is read, so the two are never in memory together
    folds = fold_cutoffs({k: metrics[k] for k in ("churn", "upside")})
    promote = challenge(
        champion,
        catalog.read("labelled", filters=[(CUTOFF, "in", folds)]) if champion else None,
        schedule_from_summary(catalog.read("schedule")),
        metrics,
        horizon,
    )
    io.release_arrow_memory()
    tiers = read_tiers(catalog)
    # of the snapshot, only what the report charts and the models' input examples (the first rows)
    snapshot = catalog.read_columns("snapshot", MATRIX_COLUMNS)
    example_rows = io.read_parquet_head(catalog.path("snapshot"), 5)
    inputs = report_inputs(
        cfg,
        tiers,
        {k: metrics[k] for k in ("churn", "upside")},
        models,
        snapshot,
        catalog.read("segment_profile"),
        read_plots(catalog),
        metrics["data_quality"],
    )
    exports = export_stage(inputs, cfg, salt)
    if cfg.engine == "dask":
        written = write_on_dask(cfg, catalog, exports, salt)
    else:
        written = write_exports(catalog, exports, cfg.export.formats)
    run = tracking.record_pipeline_run(
        cfg, catalog, exports, tiers.table, metrics, models, example_rows, salt, written, promote
    )
    catalog.write("mlflow_run", run)
    for model, decision in run["promotion"].items():
        console.print(f"  {model}: {decision}")


if __name__ == "__main__":
    run_stage("export", main)
