"""Stage results read from and written to the artifact catalog: shared by the export stage and
`segml score`, so both write the same files."""

from __future__ import annotations

from segml.data.catalog import Catalog
from segml.reporting.exports import PLOTS, Exports
from segml.tiering.scoring import TierResult

MOVEMENT_PARTS = ("matrix", "upgrades", "downgrades")
EXPORT_NAMES = {"parquet": "export_parquet", "csv": "export_csv", "xlsx": "export_xlsx"}


def read_tiers(catalog: Catalog) -> TierResult:
    """The tier stage's result, movement included when it had a previous period."""
    metrics = catalog.read("tier_metrics")
    movement = {"available": bool(metrics.get("movement_available"))}
    if movement["available"]:
        movement.update(
            {part: catalog.read(f"movement_{part}") for part in MOVEMENT_PARTS},
            kept_share=metrics["kept_share"],
            compared_with=metrics.get("compared_with"),
        )
    return TierResult(catalog.read("tiers"), movement, catalog.read("tier_summary"))


def read_plots(catalog: Catalog) -> dict:
    return {name: catalog.read(f"{name}_plot") for name in (*PLOTS, "backtest")}


def write_exports(catalog: Catalog, exports: Exports, formats: list[str]) -> list[str]:
    """The tier table in each configured format, the workbook and the report; returns the names written."""
    written = []
    for fmt in formats:
        data = exports.workbook if fmt == "xlsx" else exports.table
        if data is not None:
            catalog.write(EXPORT_NAMES[fmt], data)
            written.append(EXPORT_NAMES[fmt])
    if exports.report:
        catalog.write("report", exports.report)
        written.append("report")
    return written
