"""The exported tier table per partition (engine: dask).

A worker exports each file of the tier table (language, column allow-list, pseudonyms: all per
row) and writes it twice: as one file of the exported Parquet dataset, and as one piece of the CSV.
The pieces are then joined in order, so the CSV has the bytes of one write. The stage's process
still holds the tier table (the workbook, report and MLflow record need it), but never the Arrow
copies that writing Parquet and CSV makes, each about as large as the table. The salt travels to
the workers with the task: on a cluster of your own, it goes where the customer rows already go.
"""

from __future__ import annotations

from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from segml.config import ExportConfig
from segml.data import io
from segml.reporting.table import export_table

TABLE_FORMATS = ("parquet", "csv")
CSV_PIECE = ".csv"


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
    table = export_table(io.read_parquet(task.tiers), task.cfg, task.salt)
    if task.parquet:
        io.write_parquet(table, io.part_file(task.parquet, task.k))
    if task.csv:
        first = task.k == 0
        piece = io.part_file(task.csv, task.k, CSV_PIECE)
        io.write_table_csv(table, piece, bom=first, header=first)
    return len(table)


def write_partitioned_tables(
    parts, tiers: Path, cfg: ExportConfig, salt: str | None, outputs: dict[str, Path]
) -> None:
    """The exported table in the formats of `outputs` ({"parquet": folder, "csv": file}) from the
    tier table's partition files, on `parts` (`segml.stages.step.Partitions`)."""
    parquet, csv = outputs.get("parquet"), outputs.get("csv")
    with ExitStack() as stack:
        folders = {  # the exported parquet's partitions; the CSV's pieces, joined below
            "parquet": stack.enter_context(
                io.folder_replacing(parquet) if parquet else nullcontext()
            ),
            "csv": stack.enter_context(
                io.scratch_folder(csv.with_name(f".{csv.name}.pieces")) if csv else nullcontext()
            ),
        }
        tasks = [
            ExportTask(k, p, cfg, salt, **folders) for k, p in enumerate(io.table_parts(tiers))
        ]
        parts.map(part_export, tasks)
        if csv:
            io.join_files(io.part_files(folders["csv"], CSV_PIECE), csv)
