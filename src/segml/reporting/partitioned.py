"""The exported tier table per partition (engine: dask).

A worker exports each file of the tier table (language, column allow-list, pseudonyms: all per
row) and writes it twice: as one file of the exported Parquet dataset, and as one piece of the CSV.
The pieces are then joined in order, so the CSV has the bytes of one write. The stage's process
still holds the tier table (the workbook, report and MLflow record need it), but never the Arrow
copies that writing Parquet and CSV makes, each about as large as the table. The salt travels to
the workers with the task: on a cluster of your own, it goes where the customer rows already go.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from segml.config import ExportConfig
from segml.data import io
from segml.reporting.table import export_table

TABLE_FORMATS = ("parquet", "csv")


@dataclass(frozen=True)
class ExportTask:
    k: int
    tiers: Path  # the tier table's partition file
    cfg: ExportConfig
    salt: str | None = field(repr=False)  # never in a log line about the task
    parquet: Path | None  # the folder of exported partitions, when parquet is exported
    csv: Path | None  # the folder of CSV pieces, when CSV is exported


def part_export(task: ExportTask) -> int:
    """One partition exported; the first CSV piece carries the BOM and the header."""
    table = export_table(pd.read_parquet(task.tiers), task.cfg, task.salt)
    if task.parquet:
        io.write_parquet(table, io.part_file(task.parquet, task.k))
    if task.csv:
        first = task.k == 0
        io.write_table_csv(table, task.csv / f"part-{task.k:05d}.csv", bom=first, header=first)
    return len(table)


def write_partitioned_tables(
    engine, tiers: Path, cfg: ExportConfig, salt: str | None, outputs: dict[str, Path]
) -> None:
    """The exported table in the formats of `outputs` ({"parquet": folder, "csv": file}) from the
    tier table's partition files on `engine`."""
    parts = io.part_files(tiers) if tiers.is_dir() else [tiers]
    work = Path(next(iter(outputs.values()))).parent / ".export.partial"
    shutil.rmtree(work, ignore_errors=True)
    folders = {f: work / f if f in outputs else None for f in TABLE_FORMATS}
    tasks = [ExportTask(k, p, cfg, salt, **folders) for k, p in enumerate(parts)]
    try:
        engine.map(part_export, tasks)
        if folders["csv"]:
            io.join_files(sorted(folders["csv"].glob("part-*.csv")), outputs["csv"])
        if folders["parquet"]:
            io.replace_folder(folders["parquet"], outputs["parquet"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
