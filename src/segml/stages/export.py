"""The export stage: the tier table for business users (parquet / csv, with the configured
language, columns and pseudonyms), the workbook and the HTML report."""

from __future__ import annotations

import dataclasses

from segml.config import Config, export_salt
from segml.data.catalog import Catalog
from segml.reporting.exports import MATRIX_COLUMNS, PLOTS, Exports, export_stage, report_inputs
from segml.reporting.partitioned import TABLE_FORMATS, write_partitioned_tables
from segml.stages.artifacts import EXPORT_NAMES, read_models, read_tiers, reasons_tiering
from segml.stages.kinds import kind_of
from segml.stages.parts import BOTH, parts_of
from segml.stages.step import Engine, Partitions, Step
from segml.tiering.combined import listing_config
from segml.tiering.scoring import TierResult


def read_plots(catalog: Catalog) -> dict:
    """The train stage's plot tables, by plot."""
    return {name: catalog.read(f"{name}_plot") for name in (*PLOTS, "backtest")}


def write_exports(catalog: Catalog, exports: Exports, formats: list[str]) -> None:
    """The tier table in each of `formats`, the workbook and the report."""
    for fmt in formats:
        data = exports.workbook if fmt == "xlsx" else exports.table
        if data is not None:
            catalog.write(EXPORT_NAMES[fmt], data)
    if exports.report:
        catalog.write("report", exports.report)


def whole(cfg: Config, catalog: Catalog, exports: Exports, salt: str | None) -> None:
    write_exports(catalog, exports, cfg.export.formats)


def per_partition(
    parts: Partitions, cfg: Config, catalog: Catalog, exports: Exports, salt: str | None
) -> None:
    """The exported table written per partition of the tier table; the workbook and report here."""
    tables = [f for f in cfg.export.formats if f in TABLE_FORMATS]
    if tables:
        outputs = {f: catalog.path(EXPORT_NAMES[f]) for f in tables}
        write_partitioned_tables(parts, catalog.path("tiers"), cfg.export, salt, outputs)
    write_exports(catalog, exports, [f for f in cfg.export.formats if f not in TABLE_FORMATS])


STEP = Step(whole, per_partition)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    salt = export_salt(cfg.export)  # stops before anything is written when it is missing or stale
    if cfg.data.kind == BOTH:
        engine.run(Step(both), cfg, catalog, salt)
        return
    # names for any customer attribute and usage kind; the kind's actions (subscribers: their
    # statuses' own)
    tiering = kind_of(cfg).tier.tiering(reasons_tiering(cfg))
    inputs = inputs_of(cfg, catalog, tiering, read_tiers(catalog))
    exports = export_stage(inputs, tiering, cfg.export, salt)
    engine.run(STEP, cfg, catalog, exports, salt)


def both(cfg: Config, catalog: Catalog, salt: str | None) -> None:
    """`data.kind: both`: page one, the workbook's sheets and the table from the one tier table;
    model quality part by part, each from its part's entries and in its kind's words."""
    parts = {}
    for name, part_cfg, part in parts_of(cfg, catalog):
        tiering = kind_of(part_cfg).tier.tiering(reasons_tiering(part_cfg))
        tiers = TierResult(part.read("tiers"), {"available": False}, part.read("tier_summary"))
        found = inputs_of(part_cfg, part, tiering, tiers)
        # each kind's own figures of the data quality record (`data.both.both_quality`)
        parts[name] = dataclasses.replace(found, quality=found.quality.get(name, found.quality))
    combined = read_tiers(catalog)
    inputs = dataclasses.replace(
        next(iter(parts.values())),
        table=combined.table,
        summary=combined.summary,
        movement=combined.movement,
        audit=catalog.read_optional("audit_metrics"),
    )
    tiering = listing_config(reasons_tiering(cfg))  # every status's words and actions
    write_exports(
        catalog, export_stage(inputs, tiering, cfg.export, salt, parts), cfg.export.formats
    )


def inputs_of(cfg: Config, catalog: Catalog, tiering, tiers: TierResult):
    """The report's inputs from one kind's entries (a project of one kind: all of them)."""
    return report_inputs(
        tiering,
        tiers,
        {target: catalog.read(f"{target}_metrics") for target in ("churn", "upside")},
        read_models(catalog),
        # of the snapshot, only what the report charts
        catalog.read_columns("snapshot", MATRIX_COLUMNS),
        catalog.read("segment_profile"),
        read_plots(catalog),
        catalog.read("data_quality"),
        catalog.read("schedule")["horizon_days"],  # the window the features were built with
        # the churn window study, when `segml window` has been run
        catalog.read_optional("window_metrics"),
        catalog.read_optional("audit_metrics"),
        catalog.read_optional("model_set"),
    )
