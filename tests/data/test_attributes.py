"""Customer attributes of any name: typed parsing, unreadable values counted (never a rejected
customer), missing columns said with the nearest header, a bad type stopped at start-up, a
validity history, and the six plain names read as before."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.app.params import compose
from segml.config import to_typed
from segml.data.attributes import Attribute, check_partitioned, customer_attributes
from segml.data.customers import prepare_customers
from segml.data.validate import prepare
from segml.errors import ConfigError, ContractError, InputWarning
from tests.conftest import ROOT
from tests.typed_attributes import TYPED_ATTRIBUTES

TYPED = {
    "customer_id": "客户编号",
    "region": "地区",
    **TYPED_ATTRIBUTES,
}


def data_config(cfg, **changes):
    return dataclasses.replace(cfg.data, customer_columns=TYPED, **changes)


def raw_customers(**columns) -> pd.DataFrame:
    base = {
        "客户编号": ["A", "B", "C", "D"],
        "地区": ["华东", "", "华北", "华南"],
        "信用等级": ["A", "C", " ", "B"],
        "员工人数": ["250", "约50", "¥1,200", ""],
        "是否企业": ["是", "NO", "maybe", ""],
        "开户日期": ["2023-01-05", "2024/02/30", "", "2022-12-31"],
    }
    return pd.DataFrame({**base, **columns})


def test_entries_are_read_into_typed_records_in_config_order(cfg):
    attributes = customer_attributes(TYPED)
    assert [a.name for a in attributes] == [
        "region",
        "credit_grade",
        "company_size",
        "is_business",
        "signup_date",
    ]
    assert attributes[0] == Attribute("region", "地区")  # a plain name: a category, as today
    assert not attributes[0].typed
    assert attributes[2] == Attribute("company_size", "员工人数", "number", "employees", "员工人数")
    assert [a.feature for a in attributes[3:]] == ["attr_is_business", "attr_signup_date_days"]


def test_each_type_is_parsed_and_unreadable_values_are_counted_gaps(cfg):
    out = prepare_customers(raw_customers(), data_config(cfg))
    table = out.customers.set_index("customer_id")
    assert list(table.index) == ["A", "B", "C", "D"]  # nobody rejected for a bad value
    assert out.rejected.empty
    assert table["region"].tolist()[:1] == ["华东"] and pd.isna(table.loc["B", "region"])
    assert table["credit_grade"].tolist()[:2] == ["A", "C"] and pd.isna(
        table.loc["C", "credit_grade"]
    )
    np.testing.assert_array_equal(table["company_size"], [250.0, np.nan, 1200.0, np.nan])
    np.testing.assert_array_equal(table["is_business"], [1.0, 0.0, np.nan, np.nan])
    assert str(table["signup_date"].dtype) == "datetime64[s]"
    assert table["signup_date"].tolist()[0] == pd.Timestamp("2023-01-05")
    assert pd.isna(table.loc["B", "signup_date"])  # 30 February is no date
    # a blank is no value at all; a written value that is not of its type is a gap, counted
    assert out.quality == {
        "attribute_values_unreadable": {"员工人数": 1, "是否企业": 1, "开户日期": 1}
    }


def test_typed_customers_go_through_prepare_with_their_quality_figures(cfg):
    tx = pd.DataFrame(
        {"客户编号": ["A", "B"], "交易时间": ["2024-01-01", "2024-01-02"], "金额": ["10", "20"]}
    )
    data = data_config(cfg, columns={"customer_id": "客户编号", "ts": "交易时间", "amount": "金额"})
    prepared = prepare(tx, raw_customers(), data)
    assert prepared.quality["attribute_values_unreadable"] == {
        "员工人数": 1,
        "是否企业": 1,
        "开户日期": 1,
    }
    assert prepared.quality["customers_in_attribute_table"] == 4
    assert prepared.quality["notes"] == [
        "customer attribute values not of their type (data.customer_columns), left blank: "
        "1 in 员工人数, 1 in 是否企业, 1 in 开户日期"
    ]
    assert prepared.customers["company_size"].dtype == float


def test_a_mapped_column_missing_from_the_file_names_the_closest_header(cfg):
    raw = raw_customers().rename(columns={"员工人数": "员工数"})
    with pytest.warns(InputWarning, match=r"员工人数.*company_size.*Did you mean '员工数'"):
        out = prepare_customers(raw, data_config(cfg))
    assert "company_size" not in out.customers  # going on without it
    with pytest.raises(ContractError, match="Did you mean '员工数'"):
        prepare_customers(raw, data_config(cfg, on_missing_column="stop"))


def test_a_bad_type_stops_at_start_up_with_the_allowed_words():
    raw = compose([], conf_dir=ROOT / "conf")
    raw["data"]["customer_columns"]["credit_grade"] = {"column": "信用等级", "type": "catgory"}
    with pytest.raises(
        ConfigError,
        match=r"credit_grade.*'category', 'number', 'date', 'yes_no'.*Did you mean 'category'",
    ):
        to_typed(raw)
    raw["data"]["customer_columns"]["credit_grade"] = {"colum": "信用等级"}
    with pytest.raises(ConfigError, match="credit_grade"):
        to_typed(raw)


def test_a_history_keeps_one_row_per_customer_and_validity_date(cfg):
    raw = pd.DataFrame(
        {
            "客户编号": ["A", "A", "A", "B", "B", "C"],
            "信用等级": ["B", "C", "C2", "A", "A", "B"],
            "生效日期": ["", "2024-03-01", "2024-03-01", "2024-01-01", "soon", "2024-02-01"],
        }
    )
    data = dataclasses.replace(
        cfg.data,
        customer_columns={"customer_id": "客户编号", "credit_grade": TYPED["credit_grade"]},
        customer_validity={"valid_from": "生效日期"},
    )
    out = prepare_customers(raw, data)
    table = out.customers
    assert table["customer_id"].tolist() == ["A", "A", "B", "C"]
    assert table["credit_grade"].tolist() == ["B", "C", "A", "B"]
    assert pd.isna(table["valid_from"].iloc[0])  # no date: valid from the beginning
    assert sorted(out.rejected["reject_reason"]) == [
        "customer id listed twice in the customer table",  # A on 2024-03-01 again
        "unparseable validity date (data.customer_validity.valid_from)",
    ]
    assert out.quality["customers_with_attribute_history"] == 1


def test_the_six_plain_names_are_text_categories_as_before(cfg):
    raw = pd.DataFrame(
        {
            "客户编号": ["B", "A"],
            "地区": ["华东", " "],
            "城市等级": ["一线", "二线"],
            "客户类型": ["B2B", "B2C"],
            "获客渠道": ["搜索", "门店"],
            "年龄段": ["18-25", ""],
            "性别": ["女", "男"],
        }
    )
    out = prepare_customers(raw, cfg.data)
    assert list(out.customers.columns) == [
        "customer_id",
        "region",
        "city_tier",
        "business_type",
        "acquisition_channel",
        "age_band",
        "gender",
    ]
    assert out.customers["customer_id"].tolist() == ["A", "B"]
    assert all(str(t) == "str" for t in out.customers.dtypes)
    assert out.customers["region"].isna().tolist() == [True, False]
    assert out.quality == {}  # no new figures for plain attributes


def test_the_dask_engine_stops_on_typed_attributes_naming_the_setting(cfg):
    check_partitioned(cfg.data)  # the six plain names: fine
    with pytest.raises(
        ConfigError, match=r"engine=dask.*data.customer_columns types \['credit_grade'"
    ):
        check_partitioned(data_config(cfg))
    plain = dataclasses.replace(cfg.data, customer_validity={"valid_from": "生效日期"})
    with pytest.raises(ConfigError, match="data.customer_validity"):
        check_partitioned(plain)
