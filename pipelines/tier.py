"""DVC stage `tier`: score the snapshot; tiers, lifecycle status, actions, reasons and movement."""

import os
from pathlib import Path

from segml.data import io
from segml.outputs import tracking
from segml.config import load_config
from segml.app.console import run_stage
from segml.data.schema import CUSTOMER_ID
from segml.tiering.scoring import score_customers


def main() -> None:
    cfg = load_config()
    models = Path(cfg.paths.models_dir)
    snapshot = io.read_parquet(Path(cfg.paths.features_dir) / "snapshot.parquet")
    # a previous run logged with pseudonyms is matched back to today's ids with the same salt
    previous = tracking.previous_tiers(cfg.tiering.previous, cfg.tracking.uri, cfg.tracking.experiment,
                                       snapshot[CUSTOMER_ID], os.environ.get(cfg.export.salt_env))
    result = score_customers(snapshot,
                             io.load_pickle(models / "segmenter.pkl"), io.load_pickle(models / "churn.pkl"),
                             io.load_pickle(models / "upside.pkl"), cfg.tiering, cfg.labels.horizon_days, previous)
    out = Path(cfg.paths.tiers_dir)
    io.write_parquet(result.table, out / "tiers.parquet")
    io.write_parquet(result.summary, out / "summary.parquet")
    metrics = {"customers": len(result.table), "movement_available": result.movement["available"],
               "tiers": dict(zip(result.summary["tier"], result.summary["customers"].tolist())),
               "lifecycle": result.table["lifecycle_status"].value_counts().sort_index().to_dict()}
    if "rfm_segment" in result.table:
        metrics["rfm_segments"] = result.table["rfm_segment"].value_counts().sort_index().to_dict()
    if result.movement["available"]:
        metrics["kept_share"] = result.movement["kept_share"]
        for part in ("matrix", "upgrades", "downgrades"):
            io.write_parquet(result.movement[part], out / f"movement_{part}.parquet")
    io.write_json(metrics, Path(cfg.paths.metrics_dir) / "tiers.json")


if __name__ == "__main__":
    run_stage("tier", main)
