"""The input split by customer, for the dask engine: each partition is cleaned on its own.

A customer's rows all land in one partition (a hash of the id as `prepare` reads it, in lower
case, so ids that differ only in letter case meet), so per-customer work (duplicates, customers
without a purchase, later every feature) never needs another partition. What does need the whole
input is computed first and handed to each partition (`Part`): the row numbers in the input, its
files (a folder's) and where each file's data ends (notes under it), and the end of the export.

The clean tables are written as folders of partition files (`part-00000.parquet`, ...), which
pandas and pyarrow read as one table; the features stage reads them partition by partition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import io
from segml.data import schema as s
from segml.data.attributes import check_partitioned, customer_mapping
from segml.data.files import SourceFiles, input_files
from segml.data.no_purchase import NO_PURCHASE_STATUSES
from segml.data.parse import clean_ids, parse_timestamps
from segml.data.period import active_days, check_as_of, export_end
from segml.data.quality import check_usable, input_notes
from segml.data.raw import raw_table_batches, reads_customer_file
from segml.data.rejects import REASONS, SKIPPED, has_content
from segml.data.validate import (  # noqa: I001
    Part,
    column_mapping,
    no_data_rows,
    prepare,
)

ROW = "__source_row"  # 1-based data row in the user's file, carried through the split


def customer_partition(ids: pa.Array | pa.ChunkedArray, n: int) -> np.ndarray:
    """Per row, its partition: a hash of the id as `prepare` reads it (`clean_ids`), in lower
    case (ids that differ only in case are counted, or merged, together), the same in every
    process and on every machine; missing ids go to partition 0."""
    encoded = pc.dictionary_encode(
        ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    )
    keys = pc.utf8_lower(pc.fill_null(clean_ids(encoded.dictionary), ""))
    part = (pd.util.hash_array(keys.to_numpy(zero_copy_only=False).astype(object)) % n).astype(
        np.int64
    )
    return np.r_[part, 0][pc.fill_null(encoded.indices, -1).to_numpy()]


@dataclass(frozen=True)
class Split:
    """What splitting an input learnt of the whole: its data rows, its files, and per file the
    last row with a time or an amount (None for the customer input)."""

    rows: int
    sources: SourceFiles
    last_content: np.ndarray | None


def split_by_customer(
    path: str,
    read_options: dict,
    config_key: str,
    mapping: dict,
    mapping_key: str,
    n: int,
    folder: Path,
) -> Split:
    """Write the user's input (a file, a folder or a glob) as `n` partition files of text rows
    (plus their row number in the input). Streams UTF-8 CSVs, so no file has to fit in memory."""
    try:
        return _split(path, read_options, config_key, mapping, mapping_key, n, folder, True)
    except pa.ArrowInvalid:  # Arrow gave up part-way: pandas' reader reads it, or words the error
        return _split(path, read_options, config_key, mapping, mapping_key, n, folder, False)


def _split_file(folder: Path, k: int) -> Path:
    return Path(folder) / f"part-{k:05d}.arrow"


def _split(path, read_options, config_key, mapping, mapping_key, n, folder, stream) -> Split:
    io.empty_folder(folder)
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    schema, rows = None, 0
    files: dict[int, list] = {}  # file index -> [name, rows, lines above header, last content]
    transactions = s.TS in mapping
    try:
        for k, name, above, table in raw_table_batches(path, config_key, stream, **read_options):
            if schema is None:  # a missing required column stops here, before any work
                wanted = (s.CUSTOMER_ID, s.TS, s.AMOUNT) if transactions else (s.CUSTOMER_ID,)
                columns = column_mapping(table.column_names, mapping, wanted, path, mapping_key)
            entry = files.setdefault(k, [name, 0, above, 0])
            if transactions and len(table):
                content = np.flatnonzero(
                    has_content(table[columns[s.TS]], table[columns[s.AMOUNT]])
                )
                if len(content):
                    entry[3] = entry[1] + int(content[-1]) + 1
            entry[1] += len(table)
            part = customer_partition(table[columns[s.CUSTOMER_ID]], n)
            table = table.append_column(ROW, pa.array(np.arange(rows + 1, rows + len(table) + 1)))
            rows += len(table)
            schema = schema or table.schema
            # one reordering by partition, then each partition is a zero-copy slice
            order = np.argsort(part, kind="stable")
            table = table.take(pa.array(order))
            ends = np.cumsum(np.bincount(part, minlength=n))
            for k in np.flatnonzero(np.bincount(part, minlength=n)):
                if k not in writers:
                    writers[k] = io.arrow_file_writer(_split_file(folder, k), schema)
                start = ends[k - 1] if k else 0
                writers[k].write_table(table.slice(start, ends[k] - start))
        for k in set(range(n)) - set(writers):  # every partition exists, empty or not
            with io.arrow_file_writer(_split_file(folder, k), schema) as writer:
                writer.write_table(schema.empty_table())
    finally:
        for writer in writers.values():
            writer.close()
    listed = [files[k] for k in sorted(files)]
    ignored = input_files(path, read_options["fmt"]).ignored
    sources = SourceFiles(
        tuple(f[0] for f in listed),
        tuple(f[1] for f in listed),
        tuple(f[2] for f in listed),
        ignored,
    )
    return Split(rows, sources, np.array([f[3] for f in listed]) if transactions else None)


def read_part(folder: Path | None, k: int) -> tuple[pa.Table | None, np.ndarray | None]:
    """One partition of a split file: its text rows, and their row numbers in the file."""
    if folder is None:
        return None, None
    table = io.read_arrow_file(_split_file(folder, k))
    return table.drop_columns([ROW]), table[ROW].to_numpy()


@dataclass(frozen=True)
class PrepareTask:
    """One partition's share of the prepare stage (sent to a worker)."""

    k: int
    transactions: Path  # split folders
    customers: Path | None
    out: Path  # where the clean partition files go: out/transactions, out/customers
    data: DataConfig
    sources: tuple[str, str]
    end: pd.Timestamp | None = None
    as_of: str | None = None
    files: SourceFiles | None = None  # the transactions input's
    customer_files: SourceFiles | None = None
    last_content: np.ndarray | None = None


def _timestamps_file(folder: Path, k: int) -> Path:
    return Path(folder) / f"part-{k:05d}.ts.npy"


def part_active_days(task: PrepareTask) -> np.ndarray:
    """The days with a parseable timestamp in one partition (the export's end needs them all).
    The parsed timestamps are kept beside the partition, so `prepare_part` does not parse again."""
    raw, _ = read_part(task.transactions, task.k)
    column = column_mapping(  # the other columns: checked when the file was split
        raw.column_names, task.data.columns, (s.TS,), task.sources[0], "data.columns", "ignore"
    )
    ts = parse_timestamps(raw[column[s.TS]], task.data)
    io.save_array(ts, _timestamps_file(task.transactions, task.k))
    return active_days(ts)


@dataclass(frozen=True)
class PartOutcome:
    rejected: pd.DataFrame
    no_purchase: pd.DataFrame
    quality: dict


def prepare_part(task: PrepareTask) -> PartOutcome:
    """`prepare` on one partition; its clean tables are written beside the others'."""
    tx, tx_rows = read_part(task.transactions, task.k)
    customers, customer_rows = read_part(task.customers, task.k)
    timestamps = io.load_array(_timestamps_file(task.transactions, task.k))
    part = Part(
        tx_rows,
        customer_rows,
        task.end,
        timestamps,
        task.files,
        task.customer_files,
        task.last_content,
    )
    result = prepare(tx, customers, task.data, task.as_of, *task.sources, part=part)
    for name, frame in (("transactions", result.transactions), ("customers", result.customers)):
        io.write_parquet(frame, io.part_file(task.out / name, task.k))
    return PartOutcome(result.rejected, result.no_purchase, result.quality)


@dataclass(frozen=True)
class PreparedParts:
    """The prepare stage's outputs other than the clean tables (those are written as folders)."""

    rejected: pd.DataFrame
    no_purchase: pd.DataFrame
    quality: dict


def prepare_partitioned(
    parts,
    data: DataConfig,
    as_of: str | None,
    n: int,
    sources: tuple[str, str | None],
    transactions_out: Path,
    customers_out: Path,
) -> PreparedParts:
    """The prepare stage per partition of customers on `parts` (`segml.stages.step.Partitions`:
    in process or on Dask), in `n` partitions: the same clean rows, rejected rows and figures as
    `prepare` on the whole files (`sources`: the transactions and the customer file)."""
    raw_transactions, raw_customers = sources
    check_partitioned(data)  # typed attributes and a validity history: engine local only
    # scratch space inside the stage's output folder
    with io.scratch_folder(Path(transactions_out).parent / ".partitions") as work:
        split = work / "split"
        found = split_by_customer(
            raw_transactions,
            data.read_options(),
            "paths.raw_transactions",
            data.columns,
            "data.columns",
            n,
            split / "transactions",
        )
        if not found.rows:  # stop before any partition work, as `prepare` does on the whole file
            header = read_part(split / "transactions", 0)[0]
            raise no_data_rows(raw_transactions, header.column_names)
        customers, customer_files = None, None
        if reads_customer_file(raw_customers, data):
            customers = split / "customers"
            customer_files = split_by_customer(
                raw_customers,
                data.read_options(customers=True),
                "paths.raw_customers",
                customer_mapping(data),
                "data.customer_columns",
                n,
                customers,
            ).sources
        tasks = [
            PrepareTask(k, split / "transactions", customers, work / "out", data, sources)
            for k in range(n)
        ]
        end = export_end(
            np.unique(np.concatenate(parts.map(part_active_days, tasks))),
            data.max_tail_gap_days,
        )
        tasks = [
            replace(
                t,
                end=end,
                as_of=as_of,
                files=found.sources,
                customer_files=customer_files,
                last_content=found.last_content,
            )
            for t in tasks
        ]
        outcomes = parts.map(prepare_part, tasks)
        quality = merge_quality([o.quality for o in outcomes], found.sources)
        check_usable(quality, raw_transactions)
        check_as_of(as_of, quality["last_date"], data)
        io.replace_folder(work / "out" / "transactions", transactions_out)
        io.replace_folder(work / "out" / "customers", customers_out)
    return PreparedParts(
        _in_file_order(
            pd.concat([o.rejected for o in outcomes], ignore_index=True),
            found.sources,
            customer_files,
        ),
        pd.concat([o.no_purchase for o in outcomes]).sort_values(s.CUSTOMER_ID, ignore_index=True),
        quality | {"notes": input_notes(quality, data)},
    )


def _in_file_order(
    rejected: pd.DataFrame, files: SourceFiles, customer_files: SourceFiles | None
) -> pd.DataFrame:
    """Rejected transactions by file and row, then rejected customers: as `prepare` lists them."""
    order_of = {name: k for k, name in enumerate(files.names)}
    offset = len(order_of)
    for k, name in enumerate(customer_files.names if customer_files else ()):
        order_of.setdefault(name, offset + k)
    file_rank = rejected[s.SOURCE_FILE].map(order_of).fillna(len(order_of)).to_numpy()
    order = np.lexsort((rejected[s.SOURCE_ROW].to_numpy(), file_rank))
    return rejected.iloc[order].reset_index(drop=True)


def merge_quality(parts: list[dict], files: SourceFiles) -> dict:
    """The data-quality figures of the whole input from its partitions' (customers never span
    two partitions, so customer counts add up too); the lines above the files' headers and the
    files are the whole input's."""

    def total(key: str) -> int:
        return sum(q[key] for q in parts)

    def dates(key: str) -> list[str]:
        return [q[key] for q in parts if q[key] is not None]

    above = sum(files.above_header)
    rows_read, rows_rejected = total("rows_read") + above, total("rows_rejected")
    by_reason = {code: sum(q["rejected_by_reason"].get(code, 0) for q in parts) for code in REASONS}
    skipped = {"lines_above_header": above} | {
        kind: sum(q["skipped_by_kind"].get(kind, 0) for q in parts) for kind in SKIPPED
    }
    first = parts[0]
    return {
        "rows_read": rows_read,
        "rows_clean": total("rows_clean"),
        "rows_rejected": rows_rejected,
        "rows_skipped": total("rows_skipped") + above,
        "rows_after_period": total("rows_after_period"),
        "rejected_share": rows_rejected / rows_read if rows_read else 0.0,
        "rejected_by_reason": {code: n for code, n in by_reason.items() if n},
        "skipped_by_kind": {kind: n for kind, n in skipped.items() if n},
        "customers_with_transactions": total("customers_with_transactions"),
        "customers_in_attribute_table": total("customers_in_attribute_table"),
        "refund_rows": total("refund_rows"),
        "first_date": min(dates("first_date"), default=None),
        "last_date": max(dates("last_date"), default=None),
        "as_of": first["as_of"],
        "export_end": first["export_end"],
        "input_files": len(files.names),
        "ignored_files": [name for name, _ in files.ignored],
        "customer_ids_repaired": {
            kind: sum(q["customer_ids_repaired"][kind] for q in parts)
            for kind in first["customer_ids_repaired"]
        },
        "customer_ids_in_two_cases": total("customer_ids_in_two_cases"),
        "customer_ids_case_merged": first["customer_ids_case_merged"],
        "customers_without_purchase": {
            status: sum(q["customers_without_purchase"][status] for q in parts)
            for status in NO_PURCHASE_STATUSES
        },
    }
