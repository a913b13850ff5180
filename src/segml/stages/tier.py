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
from segml.stages.kinds import KINDS, kind_of
from segml.stages.parts import BOTH, first_part, parts_of, read_parts
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine, Partitions, Step
from segml.tiering.combined import combine_parts
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


def both(
    cfg: Config,
    catalog: Catalog,
    horizon_days: int,
    previous: pd.DataFrame | None,
    period: Period | None,
) -> TierResult:
    """`data.kind: both`: each part scored by its own models and kind (its table written to its
    part's entry), then one table graded together (`tiering.combined`), with every customer
    neither part grades listed apart (prepare's, and subscribers who cancelled and do not buy)."""
    parts = {}
    for name, part_cfg, part in parts_of(cfg, catalog):
        seams = kind_of(part_cfg).tier
        result = score_customers(
            part.read("snapshot"),
            *(part.read(MODELS[n]) for n in ("segmenter", "churn", "upside")),
            reasons_tiering(part_cfg),
            horizon_days,
            seams=seams,
        )
        part.write("tiers", result.table)
        part.write("tier_summary", result.summary)
        parts[name] = (result, seams)
    listed = KINDS["subscriptions"].listed_apart(catalog, horizon_days)
    result = combine_parts(parts, reasons_tiering(cfg), previous, period, listed)
    catalog.write("tiers", result.table)
    return result


STEP = Step(whole, per_partition)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    check_subscriber_names(cfg)  # as `segml compose` does: `dvc exp run` composes on its own
    # the churn window the snapshot was built with and the models were trained for (every part's)
    horizon_days = schedule_of(*first_part(cfg, catalog)).horizon_days
    snapshot = read_parts(cfg, catalog, "snapshot", columns=[CUSTOMER_ID, CUTOFF])
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
    if cfg.data.kind == BOTH:
        step = Step(both)
    else:
        step = STEP if kind_of(cfg).partitioned else Step(whole)  # no per-partition step: whole
    write_tiers(catalog, engine.run(step, cfg, catalog, horizon_days, previous, period))
