"""DVC stage `tier`: score the snapshot; tiers, lifecycle status, actions, reasons and movement."""

import os

from segml.app.console import run_stage
from segml.app.engine import dask_engine
from segml.app.params import load_config
from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.schema import CUSTOMER_ID
from segml.reporting import run_history as tracking
from segml.tiering.partitioned import Models, score_partitioned
from segml.tiering.scoring import TierResult, score_customers


def tiers_in_memory(cfg: Config, catalog: Catalog, previous, period, no_purchase) -> TierResult:
    result = score_customers(
        catalog.read("snapshot"),
        catalog.read("segmenter"),
        catalog.read("churn_model"),
        catalog.read("upside_model"),
        cfg.tiering,
        cfg.labels.horizon_days,
        previous,
        period,
        no_purchase,
    )
    catalog.write("tiers", result.table)
    return result


def tiers_on_dask(cfg: Config, catalog: Catalog, previous, period, no_purchase) -> TierResult:
    """Per partition of customers: the tier table is written as a folder of partition files."""
    models = Models(*(catalog.path(n) for n in ("segmenter", "churn_model", "upside_model")))
    with dask_engine(cfg.dask) as engine:
        return score_partitioned(
            engine,
            catalog.path("snapshot"),
            models,
            cfg.tiering,
            cfg.labels.horizon_days,
            cfg.dask.partitions,
            catalog.path("tiers"),
            previous,
            period,
            no_purchase,
        )


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    # a previous run logged with pseudonyms is matched back to today's ids with the same salt
    previous, period = tracking.previous_tiers(
        cfg.tiering.previous,
        cfg.tiering.previous_ref,
        cfg.tracking.uri,
        cfg.paths.in_mlflow_run,
        catalog.read("snapshot", columns=[CUSTOMER_ID])[CUSTOMER_ID],
        os.environ.get(cfg.export.salt_env),
    )
    tiers = tiers_on_dask if cfg.engine == "dask" else tiers_in_memory
    result = tiers(cfg, catalog, previous, period, catalog.read("no_purchase_customers"))
    catalog.write("tier_summary", result.summary)
    for part in ("matrix", "upgrades", "downgrades") if result.movement["available"] else ():
        catalog.write(f"movement_{part}", result.movement[part])
    catalog.write("tier_metrics", result.metrics)


if __name__ == "__main__":
    run_stage("tier", main)
