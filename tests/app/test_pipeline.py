"""Data that cannot support a model still gets tiers from value and RFM, with the model marked
"not trained: <reason>" and scored by the rule that needs no labels: by default
(labels.sufficiency.on_failure=untrained), or when nothing can be learnt at all (=warn)."""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segml.app.params import compose
from segml.app.pipeline import run_pipeline
from segml.config import to_typed
from segml.errors import InsufficientDataError
from segml.reporting.workbook import SHEETS
from tests.conftest import ROOT

# not a unit test: every stage runs, in memory (make test runs it)
pytestmark = pytest.mark.slow

DAYS = pd.date_range("2024-01-01", "2025-12-31")


def frame(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "customer_id": c,
                "ts": str(ts.date()),
                "amount": str(a),
                "order_id": f"O{i}",
                "quantity": "1",
                "category": "food",
                "channel": "app",
            }
            for i, (c, ts, a) in enumerate(rows)
        ]
    )


def everyone_once(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return frame([(f"C{i:04d}", DAYS[rng.integers(len(DAYS))], 10 + i % 7) for i in range(n)])


CASES = {  # the data, and what the churn model's "not trained" says
    "one customer": (frame([("C1", d, 10) for d in DAYS[::20]]), "only 1 customers to test"),
    "no repeat buyer": (everyone_once(300), "no customer bought on more than one day"),
    "a single day": (
        frame([(f"C{i:03d}", DAYS[100], 10 + i % 7) for i in range(300)]),
        "the data covers 0 days",
    ),
    "too few customers": (
        frame([(f"C{i:02d}", d, 10 + i) for i in range(50) for d in DAYS[i % 9 :: 60]]),
        "only 50 customers to test a model on (at least 200 needed)",
    ),
}


def _identity(cfg):
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    return dataclasses.replace(cfg, data=identity)


@pytest.fixture(scope="module")
def default_cfg():
    return _identity(to_typed(compose([], conf_dir=ROOT / "conf")))


@pytest.fixture(scope="module")
def warn_cfg():
    return _identity(
        to_typed(compose(["labels.sufficiency.on_failure=warn"], conf_dir=ROOT / "conf"))
    )


@pytest.mark.parametrize("case", sorted(CASES))
def test_thin_data_is_tiered_with_the_model_marked_not_trained(default_cfg, case):
    """The default finishes: tiers by value and RFM, the models marked not trained with why, in
    the metrics (what `segml summary` prints), the report and the workbook."""
    transactions, reason = CASES[case]
    result = run_pipeline(transactions, None, default_cfg)
    table = result.tiers.table
    assert set(table["customer_id"]) == set(transactions["customer_id"])
    assert table["tier"].notna().all() and table["rfm_segment"].notna().all()
    churn = result.metrics["churn"]
    assert churn["summary"]["verdict_en"].startswith("C: not trained: ")
    assert reason in churn["summary"]["verdict_en"] and "未训练" in churn["summary"]["verdict_zh"]
    assert (
        churn["production"]["scorer"] == "baseline_bgnbd"
        and "not trained" in churn["production"]["scorer_reason_en"]
    )
    assert table["churn_probability"].between(0, 1).all()
    report = result.exports.report
    assert "not trained" in report and "未训练" in report
    book = openpyxl.load_workbook(io.BytesIO(result.exports.workbook))
    summary = book.worksheets[SHEETS.index("summary")]
    cells = [str(c) for row in summary.iter_rows(values_only=True) for c in row if c]
    assert any("未训练" in c and "not trained" in c for c in cells)


def test_with_warn_the_models_train_when_they_can_and_stop_stops(warn_cfg):
    transactions, _ = CASES["one customer"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sufficiency warning is the point of on_failure=warn
        result = run_pipeline(transactions, None, warn_cfg)
    assert result.metrics["churn"]["summary"]["verdict_en"] == (
        "C: not trained: fewer than 20 labelled customers"  # nothing to learn from at all
    )
    stop = _identity(
        to_typed(compose(["labels.sufficiency.on_failure=stop"], conf_dir=ROOT / "conf"))
    )
    with pytest.raises(InsufficientDataError, match="on_failure=untrained"):
        run_pipeline(transactions, None, stop)


def test_every_customer_of_the_input_is_in_the_tier_table(warn_cfg):
    """Customers with no usable purchase get a status that says why, and no tier."""
    rng = np.random.default_rng(1)
    rows = [
        (f"C{i:03d}", DAYS[rng.integers(len(DAYS))], 10 + i % 5)
        for i in range(60)
        for _ in range(6)
    ]
    rows += [("Z001", DAYS[100], 0.0), ("Z001", DAYS[200], 0.0)]  # only zero-amount purchases
    customers = pd.DataFrame(
        {"customer_id": ["C000", "P001"], "region": ["华东", "华北"]}
    )  # P001 never bought
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_pipeline(frame(rows), customers, warn_cfg)
    table = result.tiers.table.set_index("customer_id")
    assert {"Z001", "P001"} <= set(table.index)
    assert table.loc["Z001", "lifecycle_status"] == "all_rows_rejected" and pd.isna(
        table.loc["Z001", "tier"]
    )
    # why no tier, in each language as the other reason columns
    assert "zero" in table.loc["Z001", "status_reason_en"]
    assert "金额为零" in table.loc["Z001", "status_reason_zh"]
    assert table.loc["P001", "lifecycle_status"] == "never_bought"
    assert table.loc["P001", "lifecycle_zh"] == "潜在客户（从未购买）"
    assert (
        result.tiers.summary["customers"].sum() == table["tier"].notna().sum()
    )  # tiers only for buyers
