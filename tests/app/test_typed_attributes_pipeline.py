"""Typed customer attributes through every stage in memory: features, models, reasons, profile and
report said in the attributes' words, and no attribute in the tier table or the exported table."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from segml.app.params import compose
from segml.app.pipeline import run_pipeline
from segml.config import to_typed
from segml.data.generate import generate
from tests.conftest import ROOT
from tests.typed_attributes import TYPED_ATTRIBUTES

TYPED = {
    "customer_id": "customer_id",
    "region": "region",
    **TYPED_ATTRIBUTES,
}
FEATURES = ["attr_credit_grade", "attr_company_size", "attr_is_business", "attr_signup_date_days"]


def customer_table(ids: pd.Series, region: pd.Series) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(ids)
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    size = rng.integers(1, 900, n).astype(str)
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "region": region.to_numpy(),
            "信用等级": rng.choice(["A", "B", "C"], n),
            "员工人数": np.where(np.arange(n) % 20 == 0, "约50", size),
            "是否企业": rng.choice(["是", "否", ""], n),
            "开户日期": pd.Series(signup).dt.strftime("%Y-%m-%d").to_numpy(),
        }
    ).astype(str)


@pytest.mark.slow
def test_typed_attributes_flow_through_every_stage():
    cfg = to_typed(compose([], conf_dir=ROOT / "conf"))
    data = dataclasses.replace(
        cfg.data, columns={k: k for k in cfg.data.columns}, customer_columns=TYPED
    )
    cfg = dataclasses.replace(cfg, data=data)
    demo = generate(1500, seed=5)
    customers = customer_table(demo.customers["customer_id"], demo.customers["region"])
    result = run_pipeline(demo.transactions.astype(str), customers, cfg)

    written = int((customers["员工人数"] == "约50").sum())  # gaps; a rejected row counts none
    unreadable = result.prepared.quality["attribute_values_unreadable"]
    assert list(unreadable) == ["员工人数"] and 0.9 * written <= unreadable["员工人数"] <= written
    snapshot = result.datasets.snapshot
    assert isinstance(snapshot["attr_credit_grade"].dtype, pd.CategoricalDtype)
    assert all(snapshot[f].dtype == float for f in FEATURES[1:])
    assert result.datasets.vocabulary.measures == {
        "company_size": "number",
        "is_business": "number",
        "signup_date": "date",
    }
    model = getattr(result.trained.churn, "model", result.trained.churn)
    assert set(FEATURES) <= set(getattr(model, "features_", FEATURES))

    table, exported = result.tiers.table, result.exports.table
    for frame in (table, exported):
        assert not [c for c in frame.columns if "attr" in str(c) or "员工" in str(c)]
    reasons = [c for c in table.columns if "_reasons_" in c]
    assert reasons
    text = " ".join(table[reasons].fillna("").astype(str).to_numpy().ravel())
    assert not re.search(r"attr_|company_size|is_business|signup_date|credit_grade|nan", text)
    report = result.exports.report
    assert "员工人数（均值）" in report and "企业客户（是的占比）" in report
