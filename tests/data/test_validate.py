"""The data contract: every bad row is kept with its reason; a missing column says what to fix."""

from __future__ import annotations

import dataclasses
import re
import warnings

import pandas as pd
import pytest

from segml.data import io
from segml.data.rejects import REASONS
from segml.data.validate import prepare
from segml.errors import ContractError, InputWarning
from segml.features.build import fit_vocabulary
from segml.features.datasets import build_snapshot
from segml.features.transactions import index_transactions

HEADERS = {
    "customer_id": "客户编号",
    "ts": "交易时间",
    "amount": "金额",
    "order_id": "订单号",
    "quantity": "数量",
    "category": "品类",
    "channel": "渠道",
}


@pytest.fixture()
def dcfg(cfg):
    return dataclasses.replace(cfg.data, columns=dict(HEADERS))


def raw(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(HEADERS.values())).astype(str)


GOOD = ["007", "2024-05-01 10:00:00", "¥1,234.50", "O1", "1", "服装", "APP"]


def test_each_bad_row_kind_is_rejected_with_its_reason(dcfg):
    rows = [
        GOOD,
        ["", "2024-05-01 10:00:00", "10", "O2", "1", "服装", "APP"],  # missing customer id
        ["008", "not a date", "10", "O3", "1", "服装", "APP"],  # bad timestamp
        ["008", "2024-05-02 10:00:00", "ten yuan", "O4", "1", "服装", "APP"],  # bad amount
        ["008", "2024-05-02 11:00:00", "0.00", "O5", "1", "服装", "APP"],  # zero amount
        ["008", "2024-05-02 12:00:00", "98765432.10", "O6", "1", "服装", "APP"],  # absurd amount
        ["008", "2031-01-01 12:00:00", "10", "O7", "1", "服装", "APP"],  # future-dated
        GOOD,  # exact duplicate
        ["008", "2024-05-03 10:00:00", "-20", "O8", "1", "服装", "APP"],  # refund: kept
    ]
    result = prepare(raw(rows), None, dcfg, as_of="2024-05-31", transactions_source="tx.csv")
    rejected = result.rejected.set_index("source_row")
    expected = {
        2: "missing_customer_id",
        3: "bad_timestamp",
        4: "bad_amount",
        5: "zero_amount",
        6: "absurd_amount",
        7: "future",
        8: "duplicate",
    }
    assert {row: rejected.loc[row, "reject_reason"] for row in expected} == {
        row: REASONS[code] for row, code in expected.items()
    }
    assert (rejected["source_file"] == "tx.csv").all()
    assert rejected.loc[3, "交易时间"] == "not a date"  # the original text, under its own header
    assert len(result.transactions) == 2
    assert result.quality["rows_rejected"] == 7
    assert result.quality["rejected_by_reason"] == {code: 1 for code in expected.values()}
    # ids stay text with their leading zeros; amounts parsed from ¥1,234.50
    assert list(result.transactions["customer_id"]) == ["007", "008"]
    assert list(result.transactions["amount"]) == [1234.5, -20.0]


def test_a_customer_listed_apart_is_told_why_in_plain_words(dcfg):
    """The rejected rows name the setting behind a reason (for whoever fixes the data); the
    reason beside a customer listed without a tier, which business users read, does not."""
    rows = [
        GOOD,
        ["009", "2024-05-02 12:00:00", "98765432.10", "O6", "1", "服装", "APP"],  # absurd amount
        ["009", "2024-05-03 12:00:00", "0", "O7", "1", "服装", "APP"],  # zero amount
    ]
    result = prepare(raw(rows), None, dcfg, as_of="2024-05-31", transactions_source="tx.csv")
    assert REASONS["absurd_amount"] in set(result.rejected["reject_reason"])
    assert "data.max_abs_amount" in REASONS["absurd_amount"]
    listed = result.no_purchase.set_index("customer_id")
    assert listed.loc["009", "reject_reasons"] == "amount too large to be real × 1; zero amount × 1"
    assert listed.loc["009", "reject_reasons_zh"] == "金额过大，不像真实金额 × 1；金额为零 × 1"


def test_every_reason_reads_without_a_setting_name_in_plain_words():
    from segml.data.rejects import in_plain_words
    from segml.data.subscription_rows import SUBSCRIPTION_REASONS

    setting = re.compile(r"\b[a-z]+_[a-z0-9_]+\b|\bdata\.")
    reasons = {*REASONS.values(), *SUBSCRIPTION_REASONS.values()}
    naming = {r for r in reasons if setting.search(r)}
    assert len(naming) >= 4  # the rejected rows do name them (the check below can fail)
    assert not {r: in_plain_words(r) for r in reasons if setting.search(in_plain_words(r))}
    assert in_plain_words(REASONS["zero_amount"]) == REASONS["zero_amount"]


def test_no_usable_row_names_the_file_and_the_reasons(dcfg):
    rows = [
        ["008", "not a date", "10", "O3", "1", "服装", "APP"],
        ["", "2024-05-01 10:00:00", "10", "O2", "1", "服装", "APP"],
    ]
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
    assert (
        "data/raw/transactions.csv" in message
        and "'金额'" in message
        and "data.columns.amount" in message
    )


def test_missing_required_column_names_the_closest_header(dcfg):
    frame = raw([GOOD])
    typo = dataclasses.replace(dcfg, columns={**HEADERS, "customer_id": "客户编码"})
    with pytest.raises(ContractError, match="Did you mean '客户编号'"):
        prepare(frame, None, typo)


def test_optional_columns_set_to_null_are_absent_without_a_word(dcfg):
    frame = raw([GOOD])[["客户编号", "交易时间", "金额"]]
    absent = {k: (v if k in ("customer_id", "ts", "amount") else None) for k, v in HEADERS.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        result = prepare(frame, None, dataclasses.replace(dcfg, columns=absent))
    assert list(result.transactions.columns) == ["customer_id", "ts", "amount"]


def test_a_mapped_optional_column_missing_from_the_file_warns_or_stops(dcfg):
    """A mistyped `category: 类别` (the file says 品类) is named with the closest header, never
    dropped in silence; `data.on_missing_column: stop` stops instead."""
    frame = raw([GOOD])
    typo = dataclasses.replace(dcfg, columns={**HEADERS, "category": "类别"})
    with pytest.warns(InputWarning) as caught:
        result = prepare(frame, None, typo, transactions_source="data/raw/transactions.csv")
    (message,) = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    assert "data/raw/transactions.csv" in message and "'类别'" in message
    assert "Did you mean '品类'?" in message and "data.columns.category" in message
    assert "category" not in result.transactions.columns
    with pytest.raises(ContractError, match="Did you mean '品类'"):
        prepare(frame, None, dataclasses.replace(typo, on_missing_column="stop"))


def test_customer_table_duplicates_and_missing_ids_rejected(dcfg):
    customers = pd.DataFrame(
        {"客户编号": ["01", "01", "", "02"], "地区": ["华东", "华北", "华南", None]}
    )
    result = prepare(raw([GOOD]), customers, dcfg, customers_source="customers.csv")
    assert list(result.customers["customer_id"]) == ["01", "02"]
    reasons = result.rejected[result.rejected["source_file"] == "customers.csv"][
        "reject_reason"
    ].tolist()
    assert reasons == [REASONS["duplicate_customer"], REASONS["missing_customer_id"]]


def test_stragglers_after_the_export_are_future_dated(dcfg):
    rows = [["1", f"2024-01-{d:02d} 10:00:00", "10", f"O{d}", "1", "a", "b"] for d in range(1, 29)]
    rows.append(["1", "2025-06-01 10:00:00", "10", "OX", "1", "a", "b"])
    result = prepare(raw(rows), None, dcfg)
    assert result.rejected["reject_reason"].tolist() == [REASONS["future"]]


# --- numeric timestamps ----------------------------------------------------------------------


def test_epoch_stamps_in_the_wrong_unit_are_rejected_not_dated_to_year_56000(dcfg):
    rows = [["1", "1714550400000", "10"], ["1", "1714550400", "20"]]  # ms and s, read as seconds
    frame = pd.DataFrame(rows, columns=["客户编号", "交易时间", "金额"])
    result = prepare(frame, None, dataclasses.replace(dcfg, timestamp_format="epoch_s"))
    assert result.rejected["reject_reason"].tolist() == [REASONS["bad_timestamp"]]
    assert result.transactions["ts"].tolist() == [pd.Timestamp("2024-05-01 16:00")]


# --- nothing to model ------------------------------------------------------------------------


def test_refunds_only_says_there_is_no_purchase(dcfg):
    rows = [
        ["007", "2024-05-01 10:00:00", "-10", "O1", "1", "服装", "APP"],
        ["008", "2024-05-02 10:00:00", "-¥5", "O2", "1", "服装", "APP"],
        ["008", "2024-05-02 10:00:00", "0", "O3", "1", "服装", "APP"],
    ]
    with pytest.raises(ContractError) as error:
        prepare(raw(rows), None, dcfg, transactions_source="data/raw/refunds.csv")
    message = str(error.value)
    assert "data/raw/refunds.csv" in message and "no purchase rows, only refunds" in message
    assert "all 2 usable rows" in message and "data.columns.amount" in message


# --- rejected rows are kept whole ------------------------------------------------------------


def test_rejected_rows_keep_every_original_column_as_text(dcfg):
    frame = raw([GOOD, ["008", "not a date", "10", "O3", "1", "服装", "APP"]]).assign(
        备注=["ok", "客户说\n下周补单"],
        门店编码=["0101", "0202"],
        reject_reason=["theirs", "theirs too"],
    )
    result = prepare(frame, None, dcfg, transactions_source="tx.csv")
    rejected = result.rejected
    user_columns = [
        "客户编号",
        "交易时间",
        "金额",
        "订单号",
        "数量",
        "品类",
        "渠道",
        "备注",
        "门店编码",
    ]
    assert rejected[user_columns].iloc[0].tolist() == [
        "008",
        "not a date",
        "10",
        "O3",
        "1",
        "服装",
        "APP",
        "客户说\n下周补单",
        "0202",
    ]
    # the user's own column of the same name as ours survives
    assert rejected["reject_reason (original)"].tolist() == ["theirs too"]
    assert rejected[["source_row", "reject_reason", "source_file"]].iloc[0].tolist() == [
        2,
        REASONS["bad_timestamp"],
        "tx.csv",
    ]
    assert all(pd.api.types.is_string_dtype(rejected[c]) for c in user_columns)
    # input rows = kept + rejected
    assert result.quality["rows_read"] == len(result.transactions) + len(rejected) == 2


def test_rejected_customer_rows_keep_their_unmapped_columns(dcfg):
    customers = pd.DataFrame(
        {"客户编号": ["01", "01"], "地区": ["华东", "华北"], "会员卡号": ["A1", "A2"]}
    )
    result = prepare(raw([GOOD]), customers, dcfg, customers_source="customers.csv")
    row = result.rejected[result.rejected["source_file"] == "customers.csv"].iloc[0]
    assert (row["客户编号"], row["地区"], row["会员卡号"], row["source_row"]) == (
        "01",
        "华北",
        "A2",
        2,
    )


# --- customers with no usable purchase -------------------------------------------------------

COLUMNS = [
    "customer_id",
    "status",
    "rejected_rows",
    "reject_reasons",
    "reject_reasons_zh",
    "in_customer_table",
]


def test_customers_without_a_usable_purchase_are_listed_with_why(dcfg):
    rows = [
        GOOD,  # 007 bought
        ["020", "2024-05-01 10:00:00", "0", "O2", "1", "服装", "APP"],  # 020: only zero amounts
        ["020", "2024-05-03 10:00:00", "0.00", "O3", "1", "服装", "APP"],
        ["020", "2024-05-04 10:00:00", "n/a", "O4", "1", "服装", "APP"],
        [" 030 ", "2024-05-01 10:00:00", "-15", "O5", "1", "服装", "APP"],  # 030: only a refund
        ["007", "2024-05-05 10:00:00", "0", "O6", "1", "服装", "APP"],  # 007 also has a bad row
    ]
    customers = pd.DataFrame({"客户编号": ["007", "020", "040"], "地区": ["华东", "华北", "华南"]})
    result = prepare(raw(rows), customers, dcfg, as_of="2024-05-31")
    table = result.no_purchase
    assert list(table.columns) == COLUMNS
    assert table.to_dict("records") == [
        {
            "customer_id": "020",
            "status": "all_rows_rejected",
            "rejected_rows": 3,
            "reject_reasons": f"{REASONS['bad_amount']} × 1; {REASONS['zero_amount']} × 2",
            "reject_reasons_zh": "无法解析的金额 × 1；金额为零 × 2",
            "in_customer_table": True,
        },
        {
            "customer_id": "030",
            "status": "only_refunds",
            "rejected_rows": 0,
            "reject_reasons": "",
            "reject_reasons_zh": "",
            "in_customer_table": False,
        },
        {
            "customer_id": "040",
            "status": "never_bought",
            "rejected_rows": 0,
            "reject_reasons": "",
            "reject_reasons_zh": "",
            "in_customer_table": True,
        },
    ]
    assert result.quality["customers_without_purchase"] == {
        "all_rows_rejected": 1,
        "only_refunds": 1,
        "only_free_orders": 0,
        "never_bought": 1,
    }
    # every customer of the input is either in the clean purchases or in this table
    known = set(customers["客户编号"]) | {r[0].strip() for r in rows}
    bought = set(result.transactions.loc[result.transactions["amount"] > 0, "customer_id"])
    assert bought | set(table["customer_id"]) == known and not bought & set(table["customer_id"])


def test_free_orders_are_kept_when_asked_and_count_for_nothing(cfg, dcfg):
    """`drop_zero_amounts: false`: zero-amount rows are clean rows (free orders, gifts), not
    rejected; a customer with nothing else is listed as `only_free_orders`, and the features of
    every customer are those without the free orders."""
    rows = [
        GOOD,  # 007 bought ...
        ["007", "2024-05-05 10:00:00", "0", "O6", "1", "赠品", "SHOP"],  # ... and had a free gift
        ["020", "2024-05-01 10:00:00", "0", "O2", "1", "赠品", "SHOP"],  # 020: free orders only
        ["020", "2024-05-03 10:00:00", "0.00", "O3", "1", "赠品", "SHOP"],
        ["030", "2024-05-01 10:00:00", "0", "O4", "1", "赠品", "SHOP"],  # 030: free and a refund
        ["030", "2024-05-02 10:00:00", "-15", "O5", "1", "服装", "APP"],
    ]
    keep = prepare(
        raw(rows), None, dataclasses.replace(dcfg, drop_zero_amounts=False), "2024-05-31"
    )
    drop = prepare(raw(rows), None, dcfg, "2024-05-31")
    assert (keep.transactions["amount"] == 0).sum() == 4 and keep.rejected.empty
    assert len(drop.rejected) == 4 and (drop.transactions["amount"] != 0).all()
    assert dict(zip(keep.no_purchase["customer_id"], keep.no_purchase["status"])) == {
        "020": "only_free_orders",
        "030": "only_refunds",
    }
    assert keep.quality["customers_without_purchase"]["only_free_orders"] == 1

    # the free gifts are the most common category and channel by rows, yet not in the vocabulary
    one_each = dataclasses.replace(cfg.features, top_categories=1, top_channels=1)

    def snapshot(prepared):
        idx = index_transactions(prepared.transactions)
        vocabulary = fit_vocabulary(idx, one_each)
        assert (vocabulary.categories, vocabulary.channels) == (["服装"], ["APP"])
        return build_snapshot(prepared.transactions, None, one_each, vocabulary, "2024-06-30", 90)

    assert list(snapshot(keep)["customer_id"]) == ["007"]
    pd.testing.assert_frame_equal(snapshot(keep), snapshot(drop))


def test_no_purchase_table_is_empty_and_typed_when_everyone_bought(dcfg, tmp_path):
    table = prepare(raw([GOOD]), None, dcfg).no_purchase
    assert table.empty and list(table.columns) == COLUMNS
    io.write_parquet(table, tmp_path / "t.parquet")  # writable as the prepare stage does
    assert pd.read_parquet(tmp_path / "t.parquet").columns.tolist() == table.columns.tolist()


# --- rows that are no transaction, and rows outside the period --------------------------------


def _accounted(quality: dict) -> bool:
    """Input rows = kept + rejected + skipped + after the period."""
    q = quality
    return q["rows_read"] == (
        q["rows_clean"] + q["rows_rejected"] + q["rows_skipped"] + q["rows_after_period"]
    )


def test_total_subtotal_empty_and_note_rows_are_skipped_and_counted_never_customers(dcfg):
    rows = [
        GOOD,
        ["008", "2024-05-02 10:00:00", "20", "O2", "1", "服装", "APP"],
        ["小计", "", "1,254.50", "", "", "", ""],  # a subtotal: its label in the id column
        ["", "", "", "", "", "", ""],  # an empty row Excel left
        ["009", "2024-05-03 10:00:00", "30", "O3", "1", "服装", "APP"],
        ["", "", "1,284.50", "", "", "", ""],  # a sum under the data, with no label at all
        [" TOTAL: ", "", "1,284.50", "", "", "", ""],
        ["合计（元）", "", "1,284.50", "", "", "", ""],  # not a label: an id without a time
        ["制表人：张三", "", "", "", "", "", ""],  # notes under the data
        ["审核：李四", "", "", "", "", "", ""],
    ]
    result = prepare(raw(rows), None, dcfg)
    q = result.quality
    assert set(result.transactions["customer_id"]) == {"007", "008", "009"}
    assert q["skipped_by_kind"] == {"empty_rows": 1, "total_rows": 3, "footer_rows": 2}
    assert q["rows_skipped"] == 6 and q["rows_rejected"] == 1 and _accounted(q)
    assert result.rejected["source_row"].tolist() == [8]  # the unknown word is a bad row
    assert result.no_purchase["customer_id"].tolist() == ["合计（元）"]  # its own text


def test_a_total_label_in_the_first_column_counts_when_the_id_is_blank(dcfg):
    frame = raw([GOOD, ["", "", "1,234.50", "", "", "", ""]])
    first = frame.assign(店铺=["A店", "总计："])[["店铺", *frame.columns]]
    result = prepare(first, None, dcfg)
    assert result.quality["skipped_by_kind"] == {"total_rows": 1} and result.rejected.empty


def test_a_mid_file_row_without_time_or_amount_is_rejected_not_skipped(dcfg):
    rows = [
        GOOD,
        ["008", "", "", "O2", "1", "服装", "APP"],
        ["009", "2024-05-03", "5", "O3", "1", "a", "b"],
    ]
    result = prepare(raw(rows), None, dcfg)
    assert result.rejected["reject_reason"].tolist() == [REASONS["bad_timestamp"]]
    assert result.quality["rows_skipped"] == 0


def test_rows_after_as_of_are_outside_the_period_not_rejected_nor_listed(dcfg):
    """A period is a date: grading May sees June's rows as after the period."""
    rows = [
        ["007", "2024-05-01 10:00:00", "10", "O1", "1", "a", "b"],
        ["007", "2024-06-10 10:00:00", "10", "O2", "1", "a", "b"],  # 007's later purchase
        ["008", "2024-06-12 10:00:00", "20", "O3", "1", "a", "b"],  # 008 first buys in June
        ["009", "2024-06-13 10:00:00", "0", "O4", "1", "a", "b"],  # a bad row, after the period
        ["010", "2024-05-20 10:00:00", "0", "O5", "1", "a", "b"],  # a bad row, inside it
        ["011", "2031-01-01 10:00:00", "5", "O6", "1", "a", "b"],  # after the export's end
        ["012", "2024-05-21 10:00:00", "0", "O7", "1", "a", "b"],  # a bad row in May, and ...
        ["012", "2024-06-21 10:00:00", "9", "O8", "1", "a", "b"],  # ... the first purchase later
    ]
    customers = pd.DataFrame({"客户编号": ["007", "008", "040"]})
    full = prepare(raw(rows), customers, dcfg)
    may = prepare(raw(rows), customers, dcfg, as_of="2024-05-31")
    assert may.transactions["customer_id"].tolist() == ["007"]
    assert may.quality["rows_after_period"] == 4 and _accounted(may.quality)
    assert may.rejected["reject_reason"].tolist() == [
        REASONS["zero_amount"],
        REASONS["future"],
        REASONS["zero_amount"],
    ]
    assert len(may.rejected) <= len(full.rejected)
    # 008, 009 and 012 are not of this period: not listed for the Data team, nor as prospects
    listed = dict(zip(may.no_purchase["customer_id"], may.no_purchase["status"]))
    assert listed == {"010": "all_rows_rejected", "011": "all_rows_rejected", "040": "never_bought"}
    assert any("outside this period" in note for note in may.quality["notes"])


def test_ids_damaged_by_a_spreadsheet_are_rejected_with_that_reason_in_both_files(dcfg):
    rows = [
        GOOD,
        ["1.23457E+11", "2024-05-02", "5", "O2", "1", "a", "b"],
        ["8.0", "2024-05-03", "5", "O3", "1", "a", "b"],
    ]
    customers = pd.DataFrame({"客户编号": ["007", "1.23457E+11", "８"]})
    result = prepare(raw(rows), customers, dcfg)
    assert result.rejected["reject_reason"].tolist() == [REASONS["damaged_customer_id"]] * 2
    assert result.transactions["customer_id"].tolist() == ["007", "8"]  # "8.0" is the number 8
    assert result.customers["customer_id"].tolist() == ["007", "8"]  # full-width "８" too
    assert result.quality["customer_ids_repaired"] == {"float_tail": 1, "spaces_or_full_width": 1}


@pytest.mark.parametrize("merge", [False, True])
def test_ids_in_two_letter_cases_are_counted_and_merged_when_asked(dcfg, merge):
    rows = [
        ["C00012", "2024-05-01", "10", "O1", "1", "a", "b"],
        ["c00012", "2024-05-02", "20", "O2", "1", "a", "b"],
        ["C00013", "2024-05-02", "20", "O3", "1", "a", "b"],
    ]
    customers = pd.DataFrame({"客户编号": ["c00013", "C00012"], "地区": ["华东", "华北"]})
    result = prepare(raw(rows), customers, dataclasses.replace(dcfg, merge_id_case=merge))
    ids = result.transactions["customer_id"].tolist()
    assert result.quality["customer_ids_in_two_cases"] == 2
    if merge:
        assert ids == ["C00012", "C00012", "C00013"]
        assert result.customers["customer_id"].tolist() == ["C00012", "C00013"]
        assert result.no_purchase.empty
    else:
        assert ids == ["C00012", "C00013", "c00012"]
        assert "never_bought" in set(result.no_purchase["status"])  # c00013 matched nobody
        assert any("data.merge_id_case: true" in note for note in result.quality["notes"])
