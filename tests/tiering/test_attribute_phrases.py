"""Reasons and short names for any customer attribute, from its configured en/zh words; the six
configured attributes keep their own."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from segml.tiering.attribute_phrases import with_attribute_phrases
from segml.tiering.behaviour import behaviour_facts
from segml.tiering.reasons import ReasonBook, feature_label, phrase_reasons
from tests.tiering.test_reasons import snapshot
from tests.typed_attributes import TYPED_ATTRIBUTES

COLUMNS = {
    "customer_id": "客户编号",
    "region": "地区",
    "industry": "所属行业",  # a plain name outside the six: a category said with its column
    **TYPED_ATTRIBUTES,
}


def test_the_configured_attributes_keep_their_phrases(cfg):
    assert with_attribute_phrases(cfg.tiering, cfg.data.customer_columns) is cfg.tiering
    tiering = with_attribute_phrases(cfg.tiering, COLUMNS)
    keys = [g["key"] for g in tiering.reasons["groups"]]
    assert keys[: len(cfg.tiering.reasons["groups"])] == [
        g["key"] for g in cfg.tiering.reasons["groups"]
    ]  # appended after the configured groups: the first match of every old feature is unchanged
    assert "attribute_region" not in keys
    assert feature_label("attr_region", tiering.reasons["names"], "en") == "Region"


def test_reasons_are_said_with_the_attributes_own_words(cfg):
    tiering = with_attribute_phrases(cfg.tiering, COLUMNS)
    book = ReasonBook(tiering.reasons, tiering.value_window_days)
    snap = snapshot(
        attr_credit_grade=pd.Categorical(["C", None, "A"]),
        attr_company_size=[250.0, 1234567.0, 3.14159],
        attr_is_business=[1.0, 0.0, np.nan],
        attr_signup_date_days=[420.0, 1.0, np.nan],
        attr_industry=pd.Categorical(["制造业", "零售", None]),
    )
    groups = ["credit_grade", "company_size", "is_business", "signup_date", "industry"]
    matrix = np.zeros((len(snap), len(book.groups)))
    for rank, name in enumerate(groups):
        matrix[:, book.keys().index(f"attribute_{name}")] = 10.0 - rank  # this order, raising
    book.top_n = 5
    facts = behaviour_facts(snap, 90, 365, 90)
    out = phrase_reasons(matrix, facts, book, "churn")
    assert list(out["en"]) == [
        "raises risk: credit grade C; employees 250; business account: yes; "
        "customer since 420 days ago; industry 制造业",
        "raises risk: credit grade not recorded; employees 1,234,567; business account: no; "
        "customer since 1 day ago; industry 零售",
        "raises risk: credit grade A; employees 3.14; business account not recorded; "
        "customer since not recorded; industry not recorded",
    ]
    assert out["zh"][0] == (
        "推高流失风险：信用等级：C；员工人数：250；企业客户：是；开户日期：420天前；所属行业：制造业"
    )
    for text in [*out["en"], *out["zh"]]:
        assert not re.search(r"[a-z]+_[a-z]+|nan|\{", text), text  # no raw names, NaN or fields


def test_short_names_come_before_the_generic_attribute_name(cfg):
    names = with_attribute_phrases(cfg.tiering, COLUMNS).reasons["names"]
    assert feature_label("attr_credit_grade", names, "en") == "Credit grade"
    assert feature_label("attr_credit_grade", names, "zh") == "信用等级"
    assert feature_label("attr_signup_date_days", names, "en") == "Customer since (days ago)"
    assert feature_label("attr_signup_date_days", names, "zh") == "开户日期（距今天数）"
    assert feature_label("attr_industry", names, "zh") == "所属行业"
    assert feature_label("attr_unknown", names, "en") == "Customer attribute"  # the generic one
