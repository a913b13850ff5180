"""Attribute features by hand at a cutoff, and point in time: the row valid at the cutoff, never a
row dated after it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.data.customers import prepare_customers
from segml.features.build import build_features, feature_columns, fit_vocabulary
from segml.features.transactions import index_transactions, to_day
from tests.conftest import tx_frame

CUTOFF = "2024-03-31"
COLUMNS = {
    "customer_id": "id",
    "credit_grade": {"column": "grade", "type": "category", "en": "credit grade", "zh": "信用等级"},
    "company_size": {"column": "staff", "type": "number", "en": "employees", "zh": "员工人数"},
    "is_business": {"column": "biz", "type": "yes_no", "en": "business account", "zh": "企业客户"},
    "signup_date": {"column": "since", "type": "date", "en": "customer since", "zh": "开户日期"},
}


@pytest.fixture()
def fcfg(cfg):
    return dataclasses.replace(
        cfg.features, use_bgnbd=False, use_attributes=True, windows_days=[30]
    )


@pytest.fixture()
def tx():
    return tx_frame(
        [
            ("A", "2024-03-01 10:00", 100.0),
            ("B", "2024-02-01 09:00", 50.0),
            ("C", "2024-03-20 09:00", 40.0),
        ]
    )


def customers(cfg, raw: dict, validity: bool = True) -> pd.DataFrame:
    data = dataclasses.replace(
        cfg.data,
        customer_columns=COLUMNS,
        customer_validity={"valid_from": "from"} if validity else {},
    )
    return prepare_customers(pd.DataFrame(raw), data).customers


HISTORY = {
    "id": ["A", "A", "A", "B", "C"],
    "grade": ["B", "C", "D", "A", "B"],
    "staff": ["250", "260", "270", "约50", "12"],
    "biz": ["是", "是", "否", "no", ""],
    "since": ["2022-06-04", "2022-06-04", "2022-06-04", "2024-04-02", "2024-03-31"],
    "from": ["", "2024-03-15", "2024-04-10", "2024-01-01", "2024-04-01"],
}


def features(tx, table, fcfg, cutoff=CUTOFF) -> pd.DataFrame:
    idx = index_transactions(tx, table)
    vocab = fit_vocabulary(idx, fcfg)
    return build_features(idx, [to_day(cutoff)], fcfg, vocab).set_index("customer_id")


def test_typed_attributes_by_hand_at_a_cutoff(cfg, tx, fcfg):
    f = features(tx, customers(cfg, HISTORY), fcfg)
    # A: the row from 2024-03-15 holds on 31 March (the one from 10 April does not yet)
    # B: its only row, from 1 January; its signup date lies after the cutoff
    # C: its only row starts on 1 April: nothing is known of C on 31 March
    assert f["attr_credit_grade"].tolist()[:2] == ["C", "A"]
    assert pd.isna(f.loc["C", "attr_credit_grade"])
    assert list(f["attr_credit_grade"].cat.categories) == ["A", "B", "C", "D"]  # every level
    np.testing.assert_array_equal(f["attr_company_size"], [260.0, np.nan, np.nan])
    np.testing.assert_array_equal(f["attr_is_business"], [1.0, 0.0, np.nan])
    # 2022-06-04 to 2024-03-31: 666 days
    np.testing.assert_array_equal(f["attr_signup_date_days"], [666.0, np.nan, np.nan])
    assert {
        "attr_credit_grade",
        "attr_company_size",
        "attr_is_business",
        "attr_signup_date_days",
    } <= set(feature_columns(f.reset_index()))


def test_without_validity_dates_one_row_holds_at_every_cutoff(cfg, tx, fcfg):
    plain = {k: v[2:] for k, v in HISTORY.items() if k != "from"}  # A (from 10 April), B, C
    f = features(tx, customers(cfg, plain, validity=False), fcfg)
    assert f["attr_credit_grade"].tolist() == ["D", "A", "B"]
    np.testing.assert_array_equal(f["attr_company_size"], [270.0, np.nan, 12.0])
    np.testing.assert_array_equal(f["attr_signup_date_days"], [666.0, np.nan, 0.0])


def test_rewriting_rows_valid_after_the_cutoff_changes_no_feature_at_it(cfg, tx, fcfg):
    before = features(tx, customers(cfg, HISTORY), fcfg)
    # every row valid after the cutoff changed: A's April row, C's only row; a new later row for B
    rewritten = {k: list(v) for k, v in HISTORY.items()}
    rewritten["grade"][2], rewritten["staff"][2], rewritten["biz"][2] = "A", "9999", "是"
    rewritten["since"][2] = "2010-01-01"
    rewritten["grade"][4], rewritten["staff"][4], rewritten["since"][4] = "D", "1", "2000-01-01"
    for column, value in zip(HISTORY, ["B", "D", "1", "是", "2000-01-01", "2024-05-01"]):
        rewritten[column].append(value)
    after = features(tx, customers(cfg, rewritten), fcfg)
    attributes = [c for c in before if c.startswith("attr_")]
    pd.testing.assert_frame_equal(before[attributes], after[attributes])
    # the check can fail: at a cutoff after those dates, the rewritten rows are what is read
    later = features(tx, customers(cfg, rewritten), fcfg, cutoff="2024-06-30")
    assert later["attr_credit_grade"].tolist() == ["A", "D", "D"]
