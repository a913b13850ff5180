"""Prepare per partition of customers (engine: dask) gives what prepare on the whole files gives."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segml.app.engine import InProcess
from segml.data import validate
from segml.data.generate import generate
from segml.data.io import part_files
from segml.data.partitions import customer_partition, prepare_partitioned
from segml.data.raw import read_raw_inputs
from segml.data.validate import prepare
from segml.errors import ContractError, InputError
from tests.conftest import csv_project


@pytest.mark.slow  # starts another interpreter
def test_a_customer_always_lands_in_one_partition_whatever_the_process():
    # "\x1f" is white space to Python (and so to prepare), not to Unicode
    values = ["0001", " 0001", "0001 ", "0001\x1f", "\u30000001", "0002", None, "", "客户7"]
    parts = customer_partition(pa.array(values), 16)
    assert len(set(parts[:5])) == 1  # prepare strips ids: one customer
    assert parts[6] == 0 and set(parts) <= set(range(16))
    # another interpreter (another hash seed) puts every id in the same partition
    code = (
        "import pyarrow as pa; from segml.data.partitions import customer_partition; "
        f"print(customer_partition(pa.array({values!r}), 16).tolist())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str(parts.tolist())


def _project(cfg, tmp_path, partitions: int, as_of: str | None = None, customers: int = 400):
    """The messy demo data as the user's CSV files, three customers listed twice."""
    demo = generate(customers, seed=3)
    listed = pd.concat([demo.customers, demo.customers.head(3)])  # duplicates are rejected
    dask = dataclasses.replace(cfg.dask, partitions=partitions)
    return csv_project(cfg, tmp_path, demo.transactions, listed, as_of=as_of, dask=dask)


def partitioned(cfg, transactions_out, customers_out):
    """The prepare stage per partition, in process, with the project's settings."""
    sources = cfg.paths.raw_transactions, cfg.paths.raw_customers
    return prepare_partitioned(
        InProcess(),
        cfg.data,
        cfg.as_of,
        cfg.dask.partitions,
        sources,
        transactions_out,
        customers_out,
    )


@pytest.mark.parametrize(
    "partitions, as_of, customers",
    [(5, None, 400), (1, None, 400), (40, "2025-06-30", 20)],  # 40 > 20: empty partitions
)
def test_partitioned_prepare_equals_prepare_on_the_whole_files(
    cfg, tmp_path, monkeypatch, partitions, as_of, customers
):
    cfg = _project(cfg, tmp_path, partitions, as_of, customers)
    paths = cfg.paths
    whole = prepare(
        *read_raw_inputs(paths.raw_transactions, paths.raw_customers, cfg.data),
        cfg.data,
        as_of,
        paths.raw_transactions,
        paths.raw_customers,
    )
    out = tmp_path / "out"
    parsing = []  # prepare's own parses: none, the export's end parsed each partition already
    parse = validate.parse_timestamps
    monkeypatch.setattr(validate, "parse_timestamps", lambda *a: parsing.append(1) or parse(*a))
    parts = partitioned(cfg, out / "tx.parquet", out / "customers.parquet")
    assert not parsing

    assert len(part_files(out / "tx.parquet")) == partitions
    tx = pd.read_parquet(out / "tx.parquet")
    key = ["customer_id", "ts", "order_id"]
    pd.testing.assert_frame_equal(
        tx.sort_values(key, kind="stable", ignore_index=True), whole.transactions
    )
    customers = pd.read_parquet(out / "customers.parquet")
    pd.testing.assert_frame_equal(
        customers.sort_values("customer_id", ignore_index=True), whole.customers
    )
    assert len(whole.rejected) and (whole.rejected["source_file"] == paths.raw_customers).any()
    pd.testing.assert_frame_equal(parts.rejected, whole.rejected)
    pd.testing.assert_frame_equal(parts.no_purchase, whole.no_purchase)
    assert parts.quality == whole.quality
    assert not (out / ".partitions").exists()  # scratch space is cleaned up


def test_partitioned_prepare_stops_like_prepare_when_nothing_is_usable(cfg, tmp_path):
    cfg = _project(cfg, tmp_path, 4)
    raw = pd.read_csv(cfg.paths.raw_transactions, dtype=str, keep_default_na=False)
    raw["amount"] = "-" + raw["amount"].str.lstrip("-")  # refunds only
    raw.to_csv(cfg.paths.raw_transactions, index=False)
    with pytest.raises(ContractError, match="only refunds"):
        partitioned(cfg, tmp_path / "tx.parquet", tmp_path / "c.parquet")
    assert not (tmp_path / "tx.parquet").exists()  # nothing half-written


def test_a_file_arrow_cannot_stream_is_split_by_the_whole_file_reader(cfg, tmp_path):
    """A ragged row stops Arrow part-way: the split starts again with pandas' reader, which names
    the problem as `prepare` does."""
    cfg = _project(cfg, tmp_path, 3)
    text = open(cfg.paths.raw_transactions, encoding="utf-8").read().splitlines()
    text.insert(len(text) - 2, "x,y,z,1,2,3,4,5,6,7,8,9")
    open(cfg.paths.raw_transactions, "w", encoding="utf-8").write("\n".join(text) + "\n")
    with pytest.raises(InputError) as whole:
        read_raw_inputs(cfg.paths.raw_transactions, None, cfg.data)
    with pytest.raises(InputError) as split:
        partitioned(cfg, tmp_path / "tx.parquet", tmp_path / "c.parquet")
    assert str(split.value) == str(whole.value)
    assert np.all([not p.exists() for p in (tmp_path / "tx.parquet", tmp_path / "c.parquet")])


def test_partitioned_prepare_stops_like_prepare_on_a_header_without_rows(cfg, tmp_path):
    cfg = _project(cfg, tmp_path, 4)
    header = open(cfg.paths.raw_transactions, encoding="utf-8").readline()
    open(cfg.paths.raw_transactions, "w", encoding="utf-8").write(header)
    with pytest.raises(ContractError) as whole:
        prepare(*read_raw_inputs(cfg.paths.raw_transactions, None, cfg.data), cfg.data)
    with pytest.raises(ContractError) as split:
        partitioned(cfg, tmp_path / "tx.parquet", tmp_path / "c.parquet")
    assert "has a header but no data rows" in str(split.value)
    assert str(whole.value).split("(columns")[1] == str(split.value).split("(columns")[1]
    assert not (tmp_path / "tx.parquet").exists()


def test_a_folder_with_titles_totals_and_notes_splits_like_the_whole_input(cfg, tmp_path):
    """Monthly files with report titles, total rows, notes under the data, a stray file and ids
    in two letter cases: per partition, the same rows, rejected rows (file and row) and figures."""
    demo = generate(60, seed=5)
    tx = demo.transactions.astype(str)
    first = tx["customer_id"] == tx["customer_id"].iloc[0]  # one customer, written two ways
    tx.loc[first, "customer_id"] = "K" + tx.loc[first, "customer_id"]
    tx.loc[tx.index[first][::2], "customer_id"] = tx.loc[first, "customer_id"].iloc[::2].str.lower()
    folder = tmp_path / "raw" / "orders"
    folder.mkdir(parents=True)
    half = len(tx) // 2
    for k, part in enumerate((tx.iloc[:half], tx.iloc[half:])):
        body = part.to_csv(index=False)
        title = f"销售明细 第{k + 1}期\n导出时间：2026-01-0{k + 1}\n"
        footer = "合计,,123.45,,,,\n制表人：张三,,,,,,\n"
        (folder / f"orders_{k}.csv").write_text(title + body + footer, encoding="utf-8")
    (folder / "desktop.ini").write_text("x", encoding="utf-8")
    cfg = _project(cfg, tmp_path / "p", 3)
    cfg = dataclasses.replace(
        cfg, paths=dataclasses.replace(cfg.paths, raw_transactions=str(folder))
    )
    paths = cfg.paths
    whole = prepare(
        *read_raw_inputs(paths.raw_transactions, None, cfg.data),
        cfg.data,
        None,
        paths.raw_transactions,
    )
    cfg = dataclasses.replace(cfg, paths=dataclasses.replace(paths, raw_customers=None))
    out = tmp_path / "out"
    parts = partitioned(cfg, out / "tx.parquet", out / "customers.parquet")
    q = whole.quality
    assert q["skipped_by_kind"] == {"lines_above_header": 4, "total_rows": 2, "footer_rows": 2}
    assert q["ignored_files"] == ["desktop.ini"] and q["customer_ids_in_two_cases"] == 1
    assert set(whole.rejected["source_file"]) <= {
        str(folder / "orders_0.csv"),
        str(folder / "orders_1.csv"),
    }
    pd.testing.assert_frame_equal(parts.rejected, whole.rejected)
    pd.testing.assert_frame_equal(parts.no_purchase, whole.no_purchase)
    assert parts.quality == whole.quality
    key = ["customer_id", "ts", "order_id"]
    tx_parts = pd.read_parquet(out / "tx.parquet").sort_values(
        key, kind="stable", ignore_index=True
    )
    pd.testing.assert_frame_equal(tx_parts, whole.transactions)
