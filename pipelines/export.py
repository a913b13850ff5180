"""DVC stage `export`: tables, workbook and report for business users; the run recorded in MLflow."""

from segml.app.artifacts import read_plots, read_tiers, write_exports
from segml.app.console import console, run_stage
from segml.config import export_salt, load_config
from segml.data.catalog import Catalog
from segml.data.schema import CUTOFF
from segml.features.datasets import schedule_from_summary
from segml.models.training import challenge, fold_cutoffs
from segml.reporting import tracking
from segml.reporting.exports import export_stage, report_inputs

STAGE_METRICS = {
    "data_quality": "data_quality",
    "segment": "segment_metrics",
    "churn": "churn_metrics",
    "upside": "upside_metrics",
    "tiers": "tier_metrics",
}


def main() -> None:
    cfg = load_config()
    salt = export_salt(
        cfg.export
    )  # stops before anything is written when the salt is missing or stale
    catalog = Catalog.from_config(cfg.paths)
    tiers, snapshot = read_tiers(catalog), catalog.read("snapshot")
    metrics = {key: catalog.read(name) for key, name in STAGE_METRICS.items()}
    models = {name: catalog.read(f"{name}_model") for name in ("churn", "upside")} | {
        "segmenter": catalog.read("segmenter")
    }
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
    written = write_exports(catalog, exports, cfg.export.formats)
    champion, horizon = tracking.load_champion_set(cfg.tracking.uri, cfg.paths.in_mlflow_run)
    # the champion is re-scored on this run's backtest folds: read only their rows, and only then
    folds = fold_cutoffs({k: metrics[k] for k in ("churn", "upside")})
    promote = challenge(
        champion,
        catalog.read("labelled", filters=[(CUTOFF, "in", folds)]) if champion else None,
        schedule_from_summary(catalog.read("schedule")),
        metrics,
        horizon,
    )
    run = tracking.record_pipeline_run(
        cfg, catalog, exports, tiers.table, metrics, models, snapshot, salt, written, promote
    )
    catalog.write("mlflow_run", run)
    for model, decision in run["promotion"].items():
        console.print(f"  {model}: {decision}")


if __name__ == "__main__":
    run_stage("export", main)
