"""Prepare's columnar paths (duplicate check, sort, Arrow tables of any type) keep pandas' answers.
The fast casts are tested in test_parse.py, the Arrow CSV read in test_raw.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segml.data import validate as v
from segml.data.rejects import REASONS
from segml.data.validate import prepare

HEADERS = ["客户编号", "交易时间", "金额", "订单号", "数量", "品类", "渠道"]


@pytest.fixture()
def dcfg(cfg):
    mapping = dict(
        zip(["customer_id", "ts", "amount", "order_id", "quantity", "category", "channel"], HEADERS)
    )
    return dataclasses.replace(cfg.data, columns=mapping)


def test_only_rows_identical_in_every_column_are_duplicates(dcfg):
    same_parse = [
        ["007", "2024-05-01 10:00:00", "100", "O1", "1", "服装", "APP"],
        ["007", "2024-05-01 10:00:00", "100", "O1", "1", "服装", "APP"],  # exact: duplicate
        [
            "007",
            "2024-05-01 10:00:00",
            "100.0",
            "O1",
            "1",
            "服装",
            "APP",
        ],  # same number, other text
        ["007", "2024-05-01 10:00:00", "100", "O2", "1", "服装", "APP"],  # other order
        ["008", "2024-05-01 10:00:00", "100", "O1", "1", "服装", "APP"],
    ]
    out = prepare(pd.DataFrame(same_parse, columns=HEADERS), None, dcfg)
    assert out.rejected["source_row"].tolist() == [2]
    assert out.rejected["reject_reason"].tolist() == [REASONS["duplicate"]]
    assert len(out.transactions) == 4


def test_clean_rows_sorted_by_customer_time_and_order(dcfg):
    rows = [
        ["b", "2024-05-02", "5", "O9", "1", "x", "y"],
        ["a", "2024-05-03", "5", "O1", "1", "x", "y"],
        ["b", "2024-05-01", "5", "O8", "1", "x", "y"],
        ["a", "2024-05-03", "6", "O0", "1", "x", "y"],  # same time as row 2: order id decides
    ]
    out = prepare(pd.DataFrame(rows, columns=HEADERS), None, dcfg).transactions
    assert out["order_id"].tolist() == ["O0", "O1", "O8", "O9"]


@pytest.mark.parametrize("with_order_id", [True, False])
def test_clean_order_matches_a_plain_stable_sort(dcfg, with_order_id):
    """Prepare sorts on integer codes and compares order ids only among ties; the result is a
    plain stable sort on (customer, time, order id) of the rows in input order."""
    rng = np.random.default_rng(3)
    n = 5000  # few ids, times and order ids: many ties, and missing order ids
    customer = rng.choice(["a", "b", "ab", "B", "10", "9", "ä", "客户"], n)
    hour = rng.integers(0, 4, n)
    order_id = rng.choice(["O1", "O10", "O2", "o1", ""], n)
    raw = pd.DataFrame(
        {
            "客户编号": customer,
            "交易时间": [f"2024-01-01 {h:02d}:00:00" for h in hour],
            "金额": [str(k + 1) for k in range(n)],  # tells rows apart: no duplicates
            "订单号": order_id,
        }
    )
    if not with_order_id:
        raw = raw.drop(columns="订单号")
    expected = pd.DataFrame(
        {
            "customer_id": pd.Series(customer, dtype="str"),
            "ts": (pd.Timestamp("2024-01-01") + pd.to_timedelta(hour, unit="h")).astype(
                "datetime64[ns]"
            ),
            "amount": np.arange(1, n + 1, dtype=float),
            "order_id": pd.Series(order_id, dtype="str").replace("", None),
        }
    )
    if not with_order_id:
        expected = expected.drop(columns="order_id")
    keys = ["customer_id", "ts", "order_id"] if with_order_id else ["customer_id", "ts"]
    expected = expected.sort_values(keys, kind="stable", na_position="last", ignore_index=True)
    pd.testing.assert_frame_equal(prepare(raw, None, dcfg).transactions, expected)


def test_sort_per_slice_of_customers_equals_one_lexsort(monkeypatch):
    rng = np.random.default_rng(5)
    n = 20_000
    customer = rng.integers(0, 700, n)
    time = rng.integers(0, 50, n)  # many ties: input order must decide them
    rows = np.flatnonzero(rng.random(n) < 0.9)
    expected = rows[np.lexsort((time[rows], customer[rows]))]
    for cores in (1, 3):
        monkeypatch.setattr(v, "cores", lambda: cores)
        np.testing.assert_array_equal(v._by_customer_and_time(rows, customer, time), expected)


def test_arrow_tables_of_other_types_are_read_as_text(dcfg):
    rows = [["007", "2024-05-01 10:00:00", "100.5", "O1", "1", "服装", "APP"]] * 2
    frame = pd.DataFrame(rows, columns=HEADERS)
    expected = prepare(frame, None, dcfg)
    typed = frame.assign(**{"金额": [100.5, 100.5], "数量": [1, 1]})
    for table in (pa.Table.from_pandas(frame), pa.Table.from_pandas(typed)):  # large_string, …
        out = prepare(table, None, dcfg)
        pd.testing.assert_frame_equal(out.transactions, expected.transactions)
        assert out.rejected["reject_reason"].tolist() == [REASONS["duplicate"]]
