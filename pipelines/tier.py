"""DVC stage `tier`: score the snapshot; tiers, lifecycle status, actions, reasons and movement."""

import os

from segml.app.console import run_stage
from segml.config import load_config
from segml.data.catalog import Catalog
from segml.data.schema import CUSTOMER_ID
from segml.reporting import tracking
from segml.tiering.scoring import score_customers


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    snapshot = catalog.read("snapshot")
    # a previous run logged with pseudonyms is matched back to today's ids with the same salt
    previous, period = tracking.previous_tiers(
        cfg.tiering.previous,
        cfg.tiering.previous_ref,
        cfg.tracking.uri,
        cfg.paths.in_mlflow_run,
        snapshot[CUSTOMER_ID],
        os.environ.get(cfg.export.salt_env),
    )
    result = score_customers(
        snapshot,
        catalog.read("segmenter"),
        catalog.read("churn_model"),
        catalog.read("upside_model"),
        cfg.tiering,
        cfg.labels.horizon_days,
        previous,
        period,
        catalog.read("no_purchase_customers"),
    )
    catalog.write("tiers", result.table)
    catalog.write("tier_summary", result.summary)
    for part in ("matrix", "upgrades", "downgrades") if result.movement["available"] else ():
        catalog.write(f"movement_{part}", result.movement[part])
    catalog.write("tier_metrics", result.metrics)


if __name__ == "__main__":
    run_stage("tier", main)
