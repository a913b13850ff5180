"""DVC stage `export`: tables, workbook and report for business users; the run recorded in MLflow."""

from pathlib import Path

import pandas as pd
import yaml

from segml.data import io
from segml.outputs import tracking
from segml.config import PARAMS_FILE, export_salt, load_config, recorded_overrides
from segml.app.console import console, run_stage
from segml.models.evaluation import verdict
from segml.tiering.reasons import feature_labels
from segml.outputs.exports import build_exports, metrics_table
from segml.models.training import importance
from segml.outputs.report import ReportInputs

MATRIX_COLUMNS = ["frequency", "recency_days", "bgnbd_p_alive", "bgnbd_expected_purchases"]


def main() -> None:
    cfg = load_config()
    salt = export_salt(cfg.export)  # stops before anything is written when the salt is missing or stale
    paths = cfg.paths
    tiers, metrics_dir, models_dir = Path(paths.tiers_dir), Path(paths.metrics_dir), Path(paths.models_dir)
    model_metrics = {name: io.read_json(metrics_dir / f"{name}.json") for name in ("churn", "upside")}
    movement = {"available": (tiers / "movement_matrix.parquet").exists()}
    if movement["available"]:
        movement.update({p: io.read_parquet(tiers / f"movement_{p}.parquet") for p in ("matrix", "upgrades", "downgrades")})
        movement["kept_share"] = io.read_json(metrics_dir / "tiers.json")["kept_share"]
    models = {name: io.load_pickle(models_dir / f"{name}.pkl") for name in ("churn", "upside", "segmenter")}
    table = io.read_parquet(tiers / "tiers.parquet")
    snapshot = io.read_parquet(Path(paths.features_dir) / "snapshot.parquet")
    backtest = pd.read_csv(Path(paths.plots_dir) / "backtest.csv")  # the walk-forward backtest
    inputs = ReportInputs(
        table=table, summary=io.read_parquet(tiers / "summary.parquet"), movement=movement,
        metrics=metrics_table(model_metrics), grades={k: {**v["summary"], **v["production"]} for k, v in model_metrics.items()},
        profile=io.read_parquet(Path(paths.segments_dir) / "profile.parquet"),
        plots={p: pd.read_csv(Path(paths.plots_dir) / f"{p}.csv") for p in ("calibration", "deciles", "lift")},
        importance=importance({"churn": models["churn"], "upside": models["upside"]}),
        quality=io.read_json(metrics_dir / "data_quality.json"), as_of=str(table["as_of"].iloc[0]),
        primary=cfg.tiering.primary, backtest=backtest, features=snapshot[[c for c in MATRIX_COLUMNS if c in snapshot]],
        feature_labels=feature_labels(snapshot.columns, cfg.tiering.reasons.get("names", [])))
    exports = build_exports(inputs, cfg.tiering.actions, list(cfg.tiering.value_potential["levels"]), cfg.export,
                            salt, cfg.tiering.teams)
    out = Path(paths.exports_dir)
    written = {"parquet": lambda p: io.write_parquet(exports.table, p), "csv": lambda p: io.write_csv(exports.table, p),
               "xlsx": lambda p: io.write_bytes(exports.workbook, p)}
    for fmt in cfg.export.formats:
        written[fmt](out / f"tiers.{fmt}")
    if exports.report:
        io.write_text(exports.report, out / "report.html")

    run = tracking.log_pipeline_run(
        cfg.tracking.uri, cfg.tracking.experiment,
        params=yaml.safe_load(Path(PARAMS_FILE).read_text(encoding="utf-8")),
        metrics={**model_metrics, "segment": io.read_json(metrics_dir / "segment.json"),
                 "data_quality": io.read_json(metrics_dir / "data_quality.json"),
                 "tiers": io.read_json(metrics_dir / "tiers.json")},
        tags={"segml.git_commit": io.git_commit(), "segml.data_sha256": io.file_digest(paths.raw_transactions,
              paths.raw_customers), "segml.as_of": inputs.as_of, "segml.data_source": paths.raw_transactions,
              "segml.tier_policy": cfg.tiering.primary,
              **{f"segml.grade.{k}": verdict(v["summary"]) for k, v in model_metrics.items()},
              **{f"segml.scorer.{k}": v["production"]["scorer_reason_en"] for k, v in model_metrics.items()}},
        models={name: (model, snapshot) for name, model in models.items()},
        tables=tracking.run_tables(exports.table, table, cfg.export, cfg.tracking, salt),
        artifacts={"tables": [Path(paths.segments_dir) / "profile.parquet"],
                   "exports": (sorted(out.glob("tiers.*")) if cfg.tracking.log_full_table else [])
                   + ([out / "report.html"] if exports.report else []),
                   "plots": sorted(Path(paths.plots_dir).glob("*")),
                   "metrics": sorted(metrics_dir.glob("*.json")), "config": [Path(PARAMS_FILE)]},
        register=cfg.tracking.register_models, auto_promote=cfg.tracking.auto_promote,
        overrides=recorded_overrides())
    io.write_json(run, out / "mlflow_run.json")
    for model, decision in run["promotion"].items():
        console.print(f"  {model}: {decision}")


if __name__ == "__main__":
    run_stage("export", main)
