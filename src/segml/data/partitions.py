"""The input split by customer, for the dask engine: each partition is cleaned on its own.

A customer's rows all land in one partition (a hash of the id as `prepare` reads it), so
per-customer work (duplicates, customers without a purchase, later every feature) never needs
another partition. What does need the whole file is computed first and handed to each partition
(`Part`): the row numbers in the file, and the end of the export.

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
from segml.data.no_purchase import NO_PURCHASE_STATUSES
from segml.data.parse import parse_timestamps
from segml.data.raw import raw_table_batches, reads_customer_file
from segml.data.rejects import REASONS
from segml.data.validate import (
    Part,
    active_days,
    check_usable,
    column_mapping,
    end_of_day,
    export_end,
    no_data_rows,
    prepare,
)

ROW = "__source_row"  # 1-based data row in the user's file, carried through the split


def customer_partition(ids: pa.Array | pa.ChunkedArray, n: int) -> np.ndarray:
    """Per row, its partition: a hash of the id stripped as `prepare` strips it (Python's
    `str.strip`), the same in every process and on every machine; missing ids go to partition 0."""
    encoded = pc.dictionary_encode(
        ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    )
    distinct = encoded.dictionary
    stripped = pc.utf8_trim_whitespace(distinct).to_numpy(zero_copy_only=False).astype(object)
    # Arrow's idea of white space is Unicode's; Python's adds a few controls: where an id starts
    # or ends with anything but printable ASCII, Python strips it
    unusual = pc.match_substring_regex(distinct, r"^[^!-~]|[^!-~]$")
    for i in np.flatnonzero(unusual.to_numpy(zero_copy_only=False)):
        stripped[i] = distinct[i].as_py().strip()
    part = (pd.util.hash_array(stripped) % n).astype(np.int64)
    return np.r_[part, 0][pc.fill_null(encoded.indices, -1).to_numpy()]


def split_by_customer(
    path: str,
    read_options: dict,
    config_key: str,
    mapping: dict,
    mapping_key: str,
    n: int,
    folder: Path,
) -> int:
    """Write the user's file as `n` partition files of text rows (plus their row number); returns
    the number of data rows. Streams a UTF-8 CSV, so the file never has to fit in memory."""
    try:
        return _split(path, read_options, config_key, mapping, mapping_key, n, folder, True)
    except pa.ArrowInvalid:  # Arrow gave up part-way: pandas' reader reads it, or words the error
        return _split(path, read_options, config_key, mapping, mapping_key, n, folder, False)


def _split_file(folder: Path, k: int) -> Path:
    return Path(folder) / f"part-{k:05d}.arrow"


def _split(path, read_options, config_key, mapping, mapping_key, n, folder, stream) -> int:
    io.empty_folder(folder)
    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    schema, rows = None, 0
    try:
        for table in raw_table_batches(path, config_key, stream, **read_options):
            if schema is None:  # a missing required column stops here, before any work
                column_mapping(
                    table.column_names,
                    mapping,
                    (s.CUSTOMER_ID,),
                    path,
                    mapping_key,
                )
                id_column = next(
                    c for c in table.column_names if c.strip() == str(mapping[s.CUSTOMER_ID])
                )
            part = customer_partition(table[id_column], n)
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
    return rows


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


def _timestamps_file(folder: Path, k: int) -> Path:
    return Path(folder) / f"part-{k:05d}.ts.npy"


def part_active_days(task: PrepareTask) -> np.ndarray:
    """The days with a parseable timestamp in one partition (the export's end needs them all).
    The parsed timestamps are kept beside the partition, so `prepare_part` does not parse again."""
    raw, _ = read_part(task.transactions, task.k)
    column = column_mapping(
        raw.column_names, task.data.columns, (s.TS,), task.sources[0], "data.columns"
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
    # absent when `as_of` set the end
    timestamps = io.load_array(_timestamps_file(task.transactions, task.k))
    part = Part(tx_rows, customer_rows, task.end, timestamps)
    result = prepare(tx, customers, task.data, None, *task.sources, part=part)
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
    # scratch space inside the stage's output folder
    with io.scratch_folder(Path(transactions_out).parent / ".partitions") as work:
        split = work / "split"
        rows = split_by_customer(
            raw_transactions,
            data.read_options(),
            "paths.raw_transactions",
            data.columns,
            "data.columns",
            n,
            split / "transactions",
        )
        if not rows:  # stop before any partition work, as `prepare` does on the whole file
            header = read_part(split / "transactions", 0)[0]
            raise no_data_rows(raw_transactions, header.column_names)
        customers = None
        if reads_customer_file(raw_customers, data):
            customers = split / "customers"
            split_by_customer(
                raw_customers,
                data.read_options(customers=True),
                "paths.raw_customers",
                data.customer_columns,
                "data.customer_columns",
                n,
                customers,
            )
        tasks = [
            PrepareTask(k, split / "transactions", customers, work / "out", data, sources)
            for k in range(n)
        ]
        if as_of:
            end = end_of_day(pd.Timestamp(as_of))
        else:
            end = export_end(
                np.unique(np.concatenate(parts.map(part_active_days, tasks))),
                data.max_tail_gap_days,
            )
        tasks = [replace(t, end=end) for t in tasks]
        outcomes = parts.map(prepare_part, tasks)
        quality = merge_quality([o.quality for o in outcomes])
        check_usable(quality, raw_transactions)
        io.replace_folder(work / "out" / "transactions", transactions_out)
        io.replace_folder(work / "out" / "customers", customers_out)
    return PreparedParts(
        _in_file_order(pd.concat([o.rejected for o in outcomes], ignore_index=True), sources),
        pd.concat([o.no_purchase for o in outcomes]).sort_values(s.CUSTOMER_ID, ignore_index=True),
        quality,
    )


def _in_file_order(rejected: pd.DataFrame, sources: tuple[str, str]) -> pd.DataFrame:
    """Rejected transactions by row number, then rejected customers: as `prepare` lists them."""
    customers_first = (rejected[s.SOURCE_FILE] != sources[0]).to_numpy()
    order = np.lexsort((rejected[s.SOURCE_ROW].to_numpy(), customers_first))
    return rejected.iloc[order].reset_index(drop=True)


def merge_quality(parts: list[dict]) -> dict:
    """The data-quality figures of the whole input from its partitions' (customers never span
    two partitions, so customer counts add up too)."""

    def total(key: str) -> int:
        return sum(q[key] for q in parts)

    def dates(key: str) -> list[str]:
        return [q[key] for q in parts if q[key] is not None]

    rows_read, rows_rejected = total("rows_read"), total("rows_rejected")
    by_reason = {code: sum(q["rejected_by_reason"].get(code, 0) for q in parts) for code in REASONS}
    return {
        "rows_read": rows_read,
        "rows_clean": total("rows_clean"),
        "rows_rejected": rows_rejected,
        "rejected_share": rows_rejected / rows_read if rows_read else 0.0,
        "rejected_by_reason": {code: n for code, n in by_reason.items() if n},
        "customers_with_transactions": total("customers_with_transactions"),
        "customers_in_attribute_table": total("customers_in_attribute_table"),
        "refund_rows": total("refund_rows"),
        "first_date": min(dates("first_date"), default=None),
        "last_date": max(dates("last_date"), default=None),
        "customers_without_purchase": {
            status: sum(q["customers_without_purchase"][status] for q in parts)
            for status in NO_PURCHASE_STATUSES
        },
    }
