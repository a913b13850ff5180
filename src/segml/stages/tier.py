"""The tier stage: score the snapshot; tiers, lifecycle status, actions, reasons and movement
against the previous period."""

from __future__ import annotations

import os

import pandas as pd

from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.schema import CUSTOMER_ID, CUTOFF
from segml.reporting import run_history
from segml.stages.artifacts import MODELS, reasons_tiering, write_tiers
from segml.stages.kinds import kind_of
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine, Partitions, Step
from segml.tiering.feature_names import check_subscriber_names
from segml.tiering.partitioned import Models, score_partitioned
from segml.tiering.periods import Period
from segml.tiering.scoring import TierResult, score_customers


def whole(
    cfg: Config,
    catalog: Catalog,
    horizon_days: int,
    previous: pd.DataFrame | None,
    period: Period | None,
) -> TierResult:
    kind = kind_of(cfg)
    result = score_customers(
        catalog.read("snapshot"),
        catalog.read(MODELS["segmenter"]),
        catalog.read(MODELS["churn"]),
        catalog.read(MODELS["upside"]),
        reasons_tiering(cfg),
        horizon_days,
        previous,
        period,
        kind.listed_apart(catalog, horizon_days),
        kind.tier,
    )
    catalog.write("tiers", result.table)
    return result


def per_partition(
    parts: Partitions,
    cfg: Config,
    catalog: Catalog,
    horizon_days: int,
    previous: pd.DataFrame | None,
    period: Period | None,
) -> TierResult:
    """Per partition of customers: the tier table is written as a folder of partition files."""
    models = Models(*(catalog.path(MODELS[n]) for n in ("segmenter", "churn", "upside")))
    return score_partitioned(
        parts,
        catalog.path("snapshot"),
        models,
        reasons_tiering(cfg),
        horizon_days,
        cfg.dask.partitions,
        catalog.path("tiers"),
        previous,
        period,
        catalog.read("no_purchase_customers"),
    )


STEP = Step(whole, per_partition)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    check_subscriber_names(cfg)  # as `segml compose` does: `dvc exp run` composes on its own
    # the churn window the snapshot was built with and the models were trained for
    horizon_days = schedule_of(cfg, catalog).horizon_days
    snapshot = catalog.read("snapshot", columns=[CUSTOMER_ID, CUTOFF])
    as_of = str(snapshot[CUTOFF].max().date()) if len(snapshot) else ""
    # the pinned period just before this one; a run logged with pseudonyms is matched back to
    # today's ids with the same salt
    previous, period = run_history.previous_tiers(
        cfg.tiering.previous,
        cfg.tiering.previous_ref,
        cfg.tracking.uri,
        cfg.tracking.experiment,
        run_history.export_of(cfg),
        cfg.paths.in_mlflow_run,
        as_of,
        snapshot[CUSTOMER_ID],
        os.environ.get(cfg.export.salt_env),
    )
    step = STEP if kind_of(cfg).partitioned else Step(whole)  # no per-partition step: whole
    write_tiers(catalog, engine.run(step, cfg, catalog, horizon_days, previous, period))
