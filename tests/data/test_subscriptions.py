"""Prepare for subscription exports, on hand-made tables: every reject reason, the word maps, the
export's end over every table, rows after as_of outside the period, the derived columns, the
customers without a subscription, and the clean tables' contract."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.data import contracts
from segml.data import schema as s
from segml.data.subscription_rows import SUBSCRIPTION_REASONS
from segml.data.subscriptions import SubscriptionExport, prepare_subscriptions
from segml.errors import ContractError

SUBS = ["cid", "sid", "plan", "start", "end", "fee", "period", "term", "state"]
PAYS = ["cid", "sid", "paid_on", "sum", "result"]
USES = ["cid", "sid", "day", "qty", "type"]
CUSTOMERS = ["cid", "area"]


@pytest.fixture()
def dcfg(cfg):
    mapping = dict(zip(s.REQUIRED_SUBSCRIPTION_COLUMNS, ("cid", "sid", "start", "fee")))
    mapping |= {"plan": "plan", "end": "end", "billing_period": "period", "contract": "term"}
    return dataclasses.replace(
        cfg.data,
        kind="subscriptions",
        subscriptions={
            "columns": mapping | {"status": "state", "cancelled_on": None},
            "billing_periods": {"月付": 1, "Monthly": 1, "年付": 12},
            "contracts": {"无合约": 0, "1年": 12},
            "statuses": {"正常": "active", "试用": "trial", "已取消": "cancelled", "x": "nonsense"},
        },
        payments={
            "columns": dict(
                zip(("customer_id", "subscription_id", "ts", "amount", "outcome"), PAYS)
            ),
            "outcomes": {"成功": "paid", "失败": "failed", "逾期": "late"},
        },
        usage={
            "columns": dict(zip(("customer_id", "subscription_id", "ts", "quantity", "kind"), USES))
        },
        customer_columns={"customer_id": "cid", "region": "area"},
    )


def frame(rows: list[list[str]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns).astype(str)


GOOD = ["C1", "S1", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常"]
SPELLS = [
    GOOD,  # 1 kept
    ["", "S2", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常"],
    ["C3", "", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常"],
    ["C4", "S4", "基础", "2024-02-30", "", "50", "月付", "无合约", "正常"],
    ["C5", "S5", "基础", "2024-01-01", "某天", "50", "月付", "无合约", "正常"],
    ["C6", "S6", "基础", "2024-01-01", "", "fifty", "月付", "无合约", "正常"],
    ["C7", "S7", "基础", "2024-01-01", "", "-5", "月付", "无合约", "正常"],
    ["C8", "S8", "基础", "2024-01-01", "", "98765432.10", "月付", "无合约", "正常"],
    ["C9", "S9", "基础", "2024-01-01", "", "50", "双月", "无合约", "正常"],
    ["C10", "S10", "基础", "2024-01-01", "", "50", "月付", "3年", "正常"],
    ["C11", "S11", "基础", "2024-05-01", "2024-04-01", "50", "月付", "无合约", "已取消"],
    ["C12", "S12", "基础", "2027-03-01", "", "50", "月付", "无合约", "正常"],
    GOOD,  # 13 exact duplicate of row 1
    ["C1", "S1", "高级", "2024-03-01", "", "80", "月付", "无合约", "正常"],  # 14 overlaps row 1
    ["C15", "S15", "基础", "2024-01-15", "2024-06-15", "¥1,200.00", " monthly ", "1年", "试用"],
    [
        "C15",
        "S15",
        "高级",
        "2024-06-15",
        "",
        "1200",
        "年付",
        "1年",
        "冻结",
    ],  # 16 kept: word counted
    ["", "", "", "", "", "", "", "", ""],  # 17 empty row: skipped
    ["合计", "", "", "", "", "4000", "", "", ""],  # 18 total row: skipped
    ["C19", "S19", "基础", "2024-01-20", "", "0", "", "", "x"],  # 19 free trial, defaults
]
EXPECTED = {
    2: "missing_customer_id",
    3: "missing_subscription_id",
    4: "bad_start",
    5: "bad_end",
    6: "bad_amount",
    7: "negative_amount",
    8: "absurd_amount",
    9: "unknown_period",
    10: "unknown_contract",
    11: "ends_before_start",
    12: "future",
    13: "duplicate",
    14: "overlap",
}
PAYMENTS = [
    ["C1", "S1", "2024-02-01", "50", "成功"],
    ["", "S1", "2024-02-01", "50", "成功"],
    ["C1", "S1", "not recorded", "50", "成功"],
    ["C1", "S1", "2024-03-01", "¥5O", "成功"],
    ["C1", "S1", "2024-03-02", "98765432.10", "成功"],
    ["C1", "S1", "2024-03-03", "50", "处理中"],
    ["C1", "S1", "2027-03-01", "50", "失败"],
    ["C1", "S1", "2024-02-01", "50", "成功"],
    # the export's last day: a retry after the last start is not future-dated
    ["C15", "S15", "2024-12-31", "1,200", "逾期"],
    ["C99", "S99", "2024-04-01", "10", "失败"],  # a customer with no subscription: kept, counted
]
USAGE = [
    ["C1", "S1", "2024-02-01", "6.5", "流量GB"],
    ["C1", "S1", "2024-02-02", "-5", "流量GB"],
    ["C1", "S1", "2024-02-03", "lots", "流量GB"],
    ["C1", "", "2024-13-01", "1", "通话分钟"],
    ["C1", "", "2024-02-04", "300", ""],
]


def prepared(dcfg, as_of=None, customers=None):
    export = SubscriptionExport(
        frame(SPELLS, SUBS), frame(PAYMENTS, PAYS), frame(USAGE, USES), customers
    )
    return prepare_subscriptions(export, dcfg, as_of, {"subscriptions": "subs.csv"})


def reasons(result, source: str) -> dict[int, str]:
    rows = result.rejected[result.rejected[s.SOURCE_FILE] == source]
    return dict(zip(rows[s.SOURCE_ROW], rows[s.REJECT_REASON]))


def test_each_bad_spell_is_rejected_with_its_reason_and_the_rest_are_kept(dcfg):
    result = prepared(dcfg)
    assert reasons(result, "subs.csv") == {k: SUBSCRIPTION_REASONS[v] for k, v in EXPECTED.items()}
    q = result.quality["subscriptions"]
    assert q["rows_read"] == len(SPELLS) == q["rows_clean"] + q["rows_rejected"] + q["rows_skipped"]
    assert q["skipped_by_kind"] == {"empty_rows": 1, "total_rows": 1}
    assert q["rows_clean"] == 4 and q["unknown_status_words"] == {"冻结": 1, "x": 1}
    assert q["rejected_by_reason"] == {v: 1 for v in EXPECTED.values()}
    # the rejected row keeps the user's text, and the word names the key to add it to
    row = result.rejected.set_index(s.SOURCE_ROW).loc[9]
    assert row["period"] == "双月" and "data.subscriptions.billing_periods" in row[s.REJECT_REASON]
    # and the notes name the words themselves, per word map, so one edit of the config fixes all
    assert q["unknown_words"] == {"billing_periods": {"双月": 1}, "contracts": {"3年": 1}}
    assert result.quality["payments"]["unknown_words"] == {"outcomes": {"处理中": 1}}
    notes = [n for n in result.quality["notes"] if "rejected for words" in n]
    assert notes == [
        "subscriptions rows rejected for words no config maps "
        "(data.subscriptions.billing_periods): '双月' (1 row); add each to "
        "data.subscriptions.billing_periods with the value it means",
        "subscriptions rows rejected for words no config maps (data.subscriptions.contracts): "
        "'3年' (1 row); add each to data.subscriptions.contracts with the value it means",
        "payments rows rejected for words no config maps (data.payments.outcomes): "
        "'处理中' (1 row); add each to data.payments.outcomes with the value it means",
    ]


def test_clean_spells_have_the_canonical_columns_words_and_derived_values(dcfg):
    clean = prepared(dcfg).subscriptions
    contracts.CLEAN_SUBSCRIPTIONS.validate(clean)
    assert list(clean.columns) == list(contracts.CLEAN_SUBSCRIPTIONS.columns)
    c15 = clean[clean[s.CUSTOMER_ID] == "C15"]
    # " monthly " matches Monthly (case and spaces ignored); ¥1,200.00 a month, then 1200 a year
    assert c15[s.BILLING_MONTHS].tolist() == [1, 12]
    assert c15[s.MRR].tolist() == [1200.0, 100.0]
    assert c15[s.CONTRACT_MONTHS].tolist() == [12, 12]
    assert c15[s.END].iloc[0] == pd.Timestamp("2024-06-15") and pd.isna(c15[s.END].iloc[1])
    # a paid spell the export calls 试用 is no trial: the status word is as of the export day,
    # so trusting it would mark only the trials still running then (those who stayed)
    assert c15[s.IS_TRIAL].tolist() == [False, False]
    assert c15[s.STATUS].isna().tolist() == [False, True]  # 冻结: no status, counted
    c19 = clean[clean[s.CUSTOMER_ID] == "C19"].iloc[0]
    # a blank period and term are monthly and no contract; a zero amount is a trial
    assert (c19[s.BILLING_MONTHS], c19[s.CONTRACT_MONTHS], c19[s.IS_TRIAL]) == (1, 0, True)
    assert pd.isna(c19[s.STATUS])  # "x" maps to no status this package knows


def test_payments_and_usage_are_checked_as_event_logs(dcfg):
    result = prepared(dcfg)
    assert reasons(result, "payments") == {
        2: SUBSCRIPTION_REASONS["missing_customer_id"],
        3: SUBSCRIPTION_REASONS["bad_timestamp"],
        4: SUBSCRIPTION_REASONS["bad_amount"],
        5: SUBSCRIPTION_REASONS["absurd_amount"],
        6: SUBSCRIPTION_REASONS["unknown_outcome"],
        7: SUBSCRIPTION_REASONS["future"],
        8: SUBSCRIPTION_REASONS["duplicate"],
    }
    assert reasons(result, "usage") == {
        2: SUBSCRIPTION_REASONS["bad_quantity"],
        3: SUBSCRIPTION_REASONS["bad_quantity"],
        4: SUBSCRIPTION_REASONS["bad_timestamp"],
    }
    payments, usage = result.payments, result.usage
    contracts.CLEAN_PAYMENTS.validate(payments)
    contracts.CLEAN_USAGE.validate(usage)
    assert payments[s.OUTCOME].tolist() == ["paid", "late", "failed"]
    assert payments[s.AMOUNT].tolist() == [50.0, 1200.0, 10.0]
    assert usage[s.KIND].tolist() == ["流量GB", ""] and usage[
        s.SUBSCRIPTION_ID
    ].isna().tolist() == [
        False,
        True,
    ]
    assert result.quality["payments"]["customers_without_subscription"] == 1
    assert result.quality["payments"]["outcomes"] == {"failed": 1, "late": 1, "paid": 1}


def test_the_export_ends_at_the_last_activity_of_any_table(dcfg):
    """The last start is 2024-06-15, the last payment 2024-12-31: the export ends then, and the
    2027 rows after a long silent gap are future-dated."""
    result = prepared(dcfg)
    assert result.quality["export_end"] == "2024-12-31"
    assert result.quality["last_date"] == "2024-12-31"
    alone = prepare_subscriptions(SubscriptionExport(frame(SPELLS, SUBS)), dcfg)
    assert alone.quality["export_end"] == "2024-06-15"
    assert len(alone.payments) == 0 and list(alone.payments.columns) == list(
        contracts.CLEAN_PAYMENTS.columns
    )


def test_rows_after_as_of_are_outside_the_period_not_rejected(dcfg):
    """Whatever else is wrong with them (C11 ends before it starts): the run of their own period
    judges them. Future-dated rows stay rejected. (The sparse table's last activity before as_of
    is on 2024-02-04: a wider tail gap lets as_of lie 56 days after it.)"""
    result = prepared(dataclasses.replace(dcfg, max_tail_gap_days=90), as_of="2024-03-31")
    q = result.quality
    assert q["subscriptions"]["rows_after_period"] == 2  # C11 and C15's second spell
    assert set(result.subscriptions[s.CUSTOMER_ID]) == {"C1", "C15", "C19"}
    assert len(result.subscriptions) == 3
    assert q["payments"]["rows_after_period"] == 2  # 2024-04-01 and 2024-12-31
    assert q["rows_after_period"] == 4
    assert reasons(result, "subs.csv")[12] == SUBSCRIPTION_REASONS["future"]
    assert 11 not in reasons(result, "subs.csv")
    assert any("outside this period" in note for note in q["notes"])


def test_every_table_adds_up_and_the_totals_too(dcfg):
    customers = frame([["C1", "华东"], ["C4", "华北"], ["P1", "华南"], ["P1", "华南"]], CUSTOMERS)
    result = prepared(dcfg, customers=customers)
    q = result.quality
    for table in ("subscriptions", "payments", "usage", "customers"):
        t = q[table]
        parts = t["rows_clean"] + t["rows_rejected"] + t["rows_skipped"] + t["rows_after_period"]
        assert t["rows_read"] == parts, table
    assert q["rows_rejected"] == len(result.rejected) == 13 + 7 + 3 + 1
    assert q["customers"]["rejected_by_reason"] == {"duplicate_customer": 1}
    assert 0 < q["rejected_share"] < 1


def test_customers_without_a_usable_subscription_are_listed_with_why(dcfg):
    customers = frame([["C1", "华东"], ["C4", "华北"], ["P1", "华南"]], CUSTOMERS)
    result = prepared(dcfg, customers=customers)
    listed = result.no_purchase.set_index(s.CUSTOMER_ID)
    assert listed.loc["P1", "status"] == "never_subscribed"
    assert listed.loc["C4", "status"] == "all_rows_rejected"
    assert listed.loc["C4", "reject_reasons"] == "unparseable start date × 1"
    assert listed.loc["C4", "reject_reasons_zh"] == "无法解析的开始日期 × 1"
    assert bool(listed.loc["C4", "in_customer_table"]) and not listed.loc["C3", "in_customer_table"]
    assert "C1" not in listed.index and "C15" not in listed.index
    assert result.quality["customers_without_subscription"]["never_subscribed"] == 1
    assert result.customers[s.CUSTOMER_ID].tolist() == ["C1", "C4", "P1"]


def test_a_period_with_no_usable_spell_stops_with_advice(dcfg):
    bad = frame([SPELLS[3], SPELLS[8]], SUBS)
    with pytest.raises(ContractError, match="none of its 2 rows is usable.*unparseable start"):
        prepare_subscriptions(SubscriptionExport(bad), dcfg)
    with pytest.raises(ContractError, match="no subscription.*after as_of 2023-06-30"):
        prepare_subscriptions(SubscriptionExport(frame([GOOD], SUBS)), dcfg, "2023-06-30")


def test_a_missing_required_column_stops_and_a_missing_optional_one_is_listed(dcfg):
    with pytest.raises(ContractError, match="required column 'fee'.*Did you mean 'fees'"):
        prepare_subscriptions(
            SubscriptionExport(frame(SPELLS, SUBS).rename(columns={"fee": "fees"})), dcfg
        )
    renamed = frame(SPELLS, SUBS).rename(columns={"term": "terms"})
    with pytest.warns(UserWarning, match="terms"):
        result = prepare_subscriptions(SubscriptionExport(renamed), dcfg)
    missing = result.quality["columns_not_found"]["data.subscriptions.columns.contract"]
    assert missing == {"column": "term", "did_you_mean": "terms"}
    assert np.all(result.subscriptions[s.CONTRACT_MONTHS] == 0)  # no term column: no contract


def test_a_damaged_id_and_an_unreadable_cancellation_date_are_rejected(dcfg):
    columns = dict(dcfg.subscriptions["columns"], cancelled_on="notice")
    cfg = dataclasses.replace(dcfg, subscriptions={**dcfg.subscriptions, "columns": columns})
    rows = [
        [*GOOD, "2024-05-20"],
        ["1.23457E+11", "S2", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常", ""],
        ["C3", "S3", "基础", "2024-01-01", "", "50", "月付", "无合约", "已取消", "上周"],
        [" 0042.0 ", "S4", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常", ""],
    ]
    result = prepare_subscriptions(SubscriptionExport(frame(rows, [*SUBS, "notice"])), cfg)
    assert reasons(result, "subscriptions") == {
        2: SUBSCRIPTION_REASONS["damaged_customer_id"],
        3: SUBSCRIPTION_REASONS["bad_cancelled_on"],
    }
    clean = result.subscriptions.set_index(s.SUBSCRIPTION_ID)
    assert clean.loc["S1", s.CANCELLED_ON] == pd.Timestamp("2024-05-20")
    assert clean.loc["S4", s.CUSTOMER_ID] == "0042"  # cleaned as the transaction reader cleans ids


def test_subscription_ids_numbered_per_customer_are_the_customers_own(dcfg):
    """Exports often number subscriptions per customer: C1's "1" and C2's "1" are two services,
    so C2's is no overlap of C1's; a second price for C1's own "1" at the same time is."""
    spells = [
        ["C1", "1", "基础", "2024-01-01", "", "50", "月付", "无合约", "正常"],
        ["C2", "1", "基础", "2024-02-01", "", "50", "月付", "无合约", "正常"],
        ["C1", "1", "高级", "2024-03-01", "", "80", "月付", "无合约", "正常"],
    ]
    export = SubscriptionExport(frame(spells, SUBS), None, None, None)
    result = prepare_subscriptions(export, dcfg, None, {"subscriptions": "subs.csv"})
    assert reasons(result, "subs.csv") == {3: SUBSCRIPTION_REASONS["overlap"]}
    assert sorted(result.subscriptions[s.CUSTOMER_ID]) == ["C1", "C2"]


def test_payments_mapped_but_absent_are_said_not_dropped_in_silence(dcfg):
    """data.payments maps columns but the export has no payments file: the run goes on without
    payment features, and a note says so and what to do."""
    export = SubscriptionExport(frame([GOOD], SUBS), None, frame(USAGE[:1], USES), None)
    result = prepare_subscriptions(export, dcfg, None, {"subscriptions": "subs.csv"})
    said = [n for n in result.quality["notes"] if "data.payments" in n]
    assert said and "paths.raw_payments" in said[0] and "left out" in said[0]
    assert not [n for n in result.quality["notes"] if "data.usage" in n]  # usage was there
