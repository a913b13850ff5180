"""The data contract: every bad row is kept with its reason; a missing column says what to fix."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from segml import io
from segml.validate import REASONS, ContractError, parse_amount, parse_timestamp, prepare

HEADERS = {"customer_id": "客户编号", "ts": "交易时间", "amount": "金额", "order_id": "订单号",
           "quantity": "数量", "category": "品类", "channel": "渠道"}


@pytest.fixture()
def dcfg(cfg):
    return dataclasses.replace(cfg.data, columns=dict(HEADERS))


def raw(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(HEADERS.values())).astype(str)


GOOD = ["007", "2024-05-01 10:00:00", "¥1,234.50", "O1", "1", "服装", "APP"]


def test_each_bad_row_kind_is_rejected_with_its_reason(dcfg):
    rows = [
        GOOD,
        ["", "2024-05-01 10:00:00", "10", "O2", "1", "服装", "APP"],           # missing customer id
        ["008", "not a date", "10", "O3", "1", "服装", "APP"],                # bad timestamp
        ["008", "2024-05-02 10:00:00", "ten yuan", "O4", "1", "服装", "APP"],  # bad amount
        ["008", "2024-05-02 11:00:00", "0.00", "O5", "1", "服装", "APP"],      # zero amount
        ["008", "2024-05-02 12:00:00", "98765432.10", "O6", "1", "服装", "APP"],  # absurd amount
        ["008", "2031-01-01 12:00:00", "10", "O7", "1", "服装", "APP"],        # future-dated
        GOOD,                                                                  # exact duplicate
        ["008", "2024-05-03 10:00:00", "-20", "O8", "1", "服装", "APP"],       # refund: kept
    ]
    result = prepare(raw(rows), None, dcfg, as_of="2024-06-30", transactions_source="tx.csv")
    rejected = result.rejected.set_index("source_row")
    expected = {2: "missing_customer_id", 3: "bad_timestamp", 4: "bad_amount", 5: "zero_amount",
                6: "absurd_amount", 7: "future", 8: "duplicate"}
    assert {row: rejected.loc[row, "reject_reason"] for row in expected} == {
        row: REASONS[code] for row, code in expected.items()}
    assert (rejected["source_file"] == "tx.csv").all()
    assert rejected.loc[3, "交易时间"] == "not a date"  # the original text is kept, under its own header
    assert len(result.transactions) == 2
    assert result.quality["rows_rejected"] == 7
    assert result.quality["rejected_by_reason"] == {code: 1 for code in expected.values()}
    # ids stay text with their leading zeros; amounts parsed from ¥1,234.50
    assert list(result.transactions["customer_id"]) == ["007", "008"]
    assert list(result.transactions["amount"]) == [1234.5, -20.0]


def test_no_usable_row_names_the_file_and_the_reasons(dcfg):
    rows = [["008", "not a date", "10", "O3", "1", "服装", "APP"], ["", "2024-05-01 10:00:00", "10", "O2", "1", "服装", "APP"]]
    with pytest.raises(ContractError) as error:
        prepare(raw(rows), None, dcfg, transactions_source="data/raw/transactions.csv")
    message = str(error.value)
    assert "data/raw/transactions.csv" in message and "none of its 2 rows" in message
    assert REASONS["bad_timestamp"] in message and REASONS["missing_customer_id"] in message


def test_missing_required_column_names_column_and_config_key(dcfg):
    frame = raw([GOOD]).drop(columns=["金额"])
    with pytest.raises(ContractError) as error:
        prepare(frame, None, dcfg, transactions_source="data/raw/transactions.csv")
    message = str(error.value)
    assert "data/raw/transactions.csv" in message and "'金额'" in message and "data.columns.amount" in message


def test_missing_input_file_names_the_config_key(tmp_path):
    with pytest.raises(io.InputError) as error:
        io.read_raw_table(tmp_path / "nope.csv", "csv", "utf-8", ",", "paths.raw_transactions")
    assert "nope.csv" in str(error.value) and "paths.raw_transactions" in str(error.value)


def test_optional_columns_may_be_absent(dcfg):
    frame = raw([GOOD])[["客户编号", "交易时间", "金额"]]
    result = prepare(frame, None, dcfg)
    assert list(result.transactions.columns) == ["customer_id", "ts", "amount"]


def test_gbk_semicolon_day_first_export(tmp_path, dcfg):
    path = tmp_path / "export.csv"
    path.write_bytes("客户编号;交易时间;金额\n0042;31/01/2024 09:30;￥1.234,50\n".encode("gbk"))
    frame = io.read_raw_table(path, "csv", "gbk", ";", "paths.raw_transactions")
    eu = dataclasses.replace(dcfg, dayfirst=True, timestamp_format="%d/%m/%Y %H:%M", thousands_separator=".",
                             decimal=",")
    result = prepare(frame, None, eu)
    row = result.transactions.iloc[0]
    assert (row["customer_id"], row["ts"], row["amount"]) == ("0042", pd.Timestamp("2024-01-31 09:30"), 1234.5)


def test_wrong_encoding_says_what_to_set(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("客户编号,金额\n张三,1\n".encode("gbk"))
    with pytest.raises(io.InputError, match="data.encoding"):
        io.read_raw_table(path, "csv", "utf-8", ",", "paths.raw_transactions")


def test_time_zoned_stamps_become_local_time(dcfg):
    parsed = parse_timestamp(pd.Series(["2024-01-01T00:30:00+00:00", "2024-01-01 12:00:00+08:00"]), dcfg)
    assert list(parsed) == [pd.Timestamp("2024-01-01 08:30"), pd.Timestamp("2024-01-01 12:00")]


def test_amount_formats(dcfg):
    parsed = parse_amount(pd.Series(["¥1,234.50", " 99 ", "-5", "RMB 10", "abc"]), dcfg)
    assert parsed.iloc[:4].tolist() == [1234.5, 99.0, -5.0, 10.0] and pd.isna(parsed.iloc[4])


def test_customer_table_duplicates_and_missing_ids_rejected(dcfg):
    customers = pd.DataFrame({"客户编号": ["01", "01", "", "02"], "地区": ["华东", "华北", "华南", None]})
    result = prepare(raw([GOOD]), customers, dcfg, customers_source="customers.csv")
    assert list(result.customers["customer_id"]) == ["01", "02"]
    reasons = result.rejected[result.rejected["source_file"] == "customers.csv"]["reject_reason"].tolist()
    assert reasons == [REASONS["duplicate_customer"], REASONS["missing_customer_id"]]


def test_stragglers_after_the_export_are_future_dated(dcfg):
    rows = [["1", f"2024-01-{d:02d} 10:00:00", "10", f"O{d}", "1", "a", "b"] for d in range(1, 29)]
    rows.append(["1", "2025-06-01 10:00:00", "10", "OX", "1", "a", "b"])
    result = prepare(raw(rows), None, dcfg)
    assert result.rejected["reject_reason"].tolist() == [REASONS["future"]]


def test_parquet_input_with_native_types(tmp_path, dcfg):
    path = tmp_path / "export.parquet"
    pd.DataFrame({"客户编号": ["0007", "0008"], "交易时间": pd.to_datetime(["2024-05-01 10:00", "2024-05-02 11:30"]),
                  "金额": [12.5, -3.0]}).to_parquet(path)
    frame = io.read_raw_table(path, "parquet", "utf-8", ",", "paths.raw_transactions")
    result = prepare(frame, None, dcfg)
    assert result.transactions["customer_id"].tolist() == ["0007", "0008"]
    assert result.transactions["ts"].tolist() == [pd.Timestamp("2024-05-01 10:00"), pd.Timestamp("2024-05-02 11:30")]
    assert result.transactions["amount"].tolist() == [12.5, -3.0]


def test_day_first_dashed_dates_are_not_mistaken_for_offsets(dcfg):
    dayfirst = dataclasses.replace(dcfg, timestamp_format="%d-%m-%Y", dayfirst=True)
    assert list(parse_timestamp(pd.Series(["31-12-2024"]), dayfirst)) == [pd.Timestamp("2024-12-31")]
