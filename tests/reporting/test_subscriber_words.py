"""Subscribers' workbook and report in their own words (data.kind: subscriptions): no purchase
words (buy, purchase, order, 购买, 复购), fees where purchases say spend, the contract x tenure churn
table where purchases have RFM segments and frequency x recency matrices, their lifecycle
statuses on page one and their own actions; the purchase wording stays as it was."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segml.config import ExportConfig
from segml.reporting.contract_tenure import contract_tenure
from segml.reporting.exports import build_exports
from segml.reporting.sheet_view import sheet_name
from segml.reporting.subscriber_text import subscriber_headers
from segml.reporting.text import Words
from segml.reporting.workbook import SHEETS, SUBSCRIBER_SHEETS
from segml.tiering.seams import SUBSCRIPTION_SEAMS, TRANSACTION_SEAMS
from tests.reporting.conftest import sample_report_inputs, visible_text
from tests.reporting.test_forecast_view import FORECAST

PURCHASE_WORDS = re.compile(r"购买|复购|下单|订单|在网|入网|\bbuy|\bbought|purchase|\border", re.I)
STATUSES = ["trial", "new", "active", "won_back", "past_due", "at_risk"]


@pytest.fixture()
def subscribers(table) -> pd.DataFrame:
    """The sample tier table as subscribers: no RFM, a monthly fee, contract and tenure, their
    statuses, and two cancelled subscribers listed apart (no tier, no churn probability)."""
    n = len(table)
    rng = np.random.default_rng(5)
    subs = table.drop(columns=[c for c in table.columns if c.startswith("rfm_")]).assign(
        lifecycle_status=[STATUSES[i % len(STATUSES)] for i in range(n)],
        mrr=rng.choice([58.0, 128.0, 199.0], n),
        contract_months=np.array([0.0, 12.0, 24.0])[np.arange(n) % 3],
        tenure_days=np.array([30.0, 200.0, 500.0, 1000.0, 80.0])[np.arange(n) % 5],
        churn_reasons_en="raises risk: month-to-month, no contract",
        churn_reasons_zh="推高流失风险：无合约（按月）",
        value_reasons_en="raises value: 2 products, ¥188 a month",
        value_reasons_zh="推高价值：2项业务，月费¥188",
    )
    subs = subs.assign(
        lifecycle_en=subs["lifecycle_status"].str.replace("_", " "),
        lifecycle_zh="状态",
        persona_adjusted=False,
    )
    gone = subs.head(2).assign(
        customer_id=["c1", "c2"],
        tier=None,
        churn_probability=np.nan,
        lifecycle_status="cancelled",
        lifecycle_en="Cancelled",
        lifecycle_zh="已取消",
    )
    return pd.concat([subs, gone], ignore_index=True)


SUBSCRIBER_BASELINES = {
    "baseline_recency": "baseline_contract_tenure",
    "baseline_bgnbd": "baseline_survival",
}


def _exports(cfg, frame, summary, backtest):
    inputs = sample_report_inputs(frame, summary, backtest)
    if "mrr" in frame:  # the subscribers' baselines
        grades = {"churn": {"grade": "B", "beats_baseline": True, "scorer": "model"}}
        backtest = backtest.replace({"scorer": SUBSCRIBER_BASELINES})
        inputs = dataclasses.replace(inputs, grades=grades, backtest=backtest)
    inputs = dataclasses.replace(
        inputs,
        metrics=pd.DataFrame(
            {
                "target": ["upside", "upside"],
                "scorer": ["model", "baseline_last_period"],
                "top20_capture": [0.34, 0.33],
            }
        ),
        forecast=FORECAST,
        features=None,
    )
    tiering = SUBSCRIPTION_SEAMS.tiering(cfg.tiering) if "mrr" in frame else cfg.tiering
    levels = list(cfg.tiering.value_potential["levels"])
    return build_exports(inputs, tiering.actions, levels, cfg.export, None, cfg.tiering.teams)


def _cells(book: openpyxl.Workbook) -> dict[str, list[str]]:
    return {
        sheet.title: [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
        for sheet in book.worksheets
    }


def test_subscribers_workbook_speaks_of_fees_and_contracts_not_purchases(
    cfg, subscribers, summary, backtest
):
    exports = _exports(cfg, subscribers, summary, backtest)
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook))
    cells = _cells(book)
    for title, texts in cells.items():
        found = [t for t in texts if PURCHASE_WORDS.search(t)]
        assert not found, (title, found[:3])
    assert book.sheetnames == [sheet_name(key, cfg.export) for key in SUBSCRIBER_SHEETS]
    contract = cells[sheet_name("contract_tenure", cfg.export)]
    assert "合约类型 Contract" in contract and "订阅时长 Time subscribed" in contract
    assert "无合约（按月） Month-to-month" in contract and "3–12个月 3–12 months" in contract
    assert any("RFM" in t and "do not apply to subscribers" in t for t in contract)  # where RFM was
    summary_cells = " ".join(cells[sheet_name("summary", cfg.export)])
    assert (
        "Rule: last period's fees" in summary_cells and "Fees captured by top 20 %" in summary_cells
    )
    assert "spend" not in summary_cells.lower()
    forecast = " ".join(cells[sheet_name("forecast", cfg.export)])
    assert "Range held the fees" in forecast and "Expected to buy" not in forecast
    assert "已取消 Cancelled" in " ".join(cells[sheet_name("lifecycle", cfg.export)])
    assert "Persona set by lifecycle" not in cells[sheet_name("customers", cfg.export)]
    # a month-to-month subscriber's contract term in words, never "0"; other terms in months
    sheet = book[sheet_name("customers", cfg.export)]
    header = [c.value for c in sheet[1]]
    terms = [row[header.index("合约期（月） Contract term (months)")] for row in sheet.iter_rows(
        min_row=2, values_only=True
    )]  # fmt: skip
    assert "无合约（按月） Month-to-month" in terms and {12, 24} <= set(terms)
    assert 0 not in terms
    actions = cells[sheet_name("actions", cfg.export)]
    assert "试用中 Trial" in " ".join(actions) and "First-purchase offer" not in " ".join(actions)


def test_subscribers_report_speaks_of_fees_and_shows_their_statuses(
    cfg, subscribers, summary, backtest
):
    page = visible_text(_exports(cfg, subscribers, summary, backtest).report)
    found = [page[max(m.start() - 60, 0) : m.end() + 20] for m in PURCHASE_WORDS.finditer(page)]
    assert not found, found
    assert "预测：总额与区间" in page and "Forecast: totals and ranges" in page
    assert "合约类型 × 订阅时长" in page and "Month-to-month" in page  # in place of BG/NBD matrices
    assert "Subscribers have no RFM segments" in page
    for status in ("Trial", "Won back", "Past due", "Cancelled"):
        assert status in page, status


def test_purchases_keep_their_words_rfm_sheet_and_matrices(cfg, table, summary, backtest):
    exports = _exports(cfg, table, summary, backtest)
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook))
    assert book.sheetnames == [sheet_name(key, cfg.export) for key in SHEETS]
    forecast = " ".join(_cells(book)[sheet_name("forecast", cfg.export)])
    assert "Expected to buy (with a date)" in forecast and "Range held the spend" in forecast
    page = visible_text(exports.report)
    assert "Forecast: totals, ranges and next purchases" in page
    assert "Frequency × recency" in page and "RFM segments rank customers" in page
    assert Words(cfg.export).text("forecast") != Words(cfg.export, recurring=True).text("forecast")


def test_subscriber_headers_put_recurring_names_in_place():
    headers = {"a": {"en": "spend"}, "a_recurring": {"en": "fees"}, "b": {"en": "b"}}
    cfg = subscriber_headers(ExportConfig(headers=headers))
    assert cfg.headers == {"a": {"en": "fees"}, "a_recurring": {"en": "fees"}, "b": {"en": "b"}}


def test_contract_tenure_counts_scored_subscribers_per_contract_and_band():
    frame = pd.DataFrame(
        {
            "contract_months": [0.0, 0.0, 0.0, 12.0, 12.0, 24.0],
            "tenure_days": [10.0, 89.0, 400.0, 100.0, 364.0, 800.0],
            "churn_probability": [0.4, 0.2, 0.1, 0.05, np.nan, 0.02],  # NaN: cancelled
            "current_value": [100.0, 50.0, 600.0, 300.0, 0.0, 2000.0],
        }
    )
    out = contract_tenure(frame)
    assert out[["contract_type_en", "tenure_band_en"]].values.tolist() == [
        ["Month-to-month", "Under 3 months"],
        ["Month-to-month", "1–2 years"],
        ["12-month contract", "3–12 months"],
        ["24-month contract", "2 years or more"],
    ]
    assert out["customers"].tolist() == [2, 1, 1, 1]
    assert out["mean_churn_probability"].round(3).tolist() == [0.3, 0.1, 0.05, 0.02]
    assert out["customer_share"].tolist() == [0.4, 0.2, 0.2, 0.2]
    assert out["current_value"].tolist() == [150.0, 600.0, 300.0, 2000.0]
    assert out.loc[0, "contract_type_zh"] == "无合约（按月）" and out.loc[2, "tenure_band_zh"] == (
        "3–12个月"
    )
    assert contract_tenure(frame.drop(columns="contract_months")).empty  # purchases: none


def test_subscribers_actions_are_their_statuses_only(cfg):
    lifecycle = SUBSCRIPTION_SEAMS.tiering(cfg.tiering).actions["lifecycle"]
    assert {"trial", "past_due", "won_back", "new", "at_risk", "active"} <= set(lifecycle)
    assert {"cancelled", "never_subscribed", "all_rows_rejected"} <= set(lifecycle)
    assert not {"lost", "never_bought", "only_refunds", "only_free_orders"} & set(lifecycle)
    assert "开通" in lifecycle["new"]["zh"] and "入网" not in lifecycle["new"]["zh"]
    assert TRANSACTION_SEAMS.tiering(cfg.tiering).actions == cfg.tiering.actions


def test_every_rejection_code_has_words_in_both_languages_from_one_source():
    """The report's data-quality notes name every code the readers reject rows with, in both
    languages; the Chinese are the data layer's words (what `status_reason_zh` says), and a
    setting named for whoever fixes the data is left out of what business users read."""
    from segml.data.rejects import REASONS, REASONS_ZH, in_plain_words
    from segml.data.subscription_rows import SUBSCRIPTION_REASONS, SUBSCRIPTION_REASONS_ZH
    from segml.reporting.text import REJECTIONS

    assert set(REASONS) | set(SUBSCRIPTION_REASONS) <= set(REJECTIONS)
    chinese = {**REASONS_ZH, **SUBSCRIPTION_REASONS_ZH}
    for key, words in REJECTIONS.items():
        assert words["en"] and words["zh"] == chinese[key], key
    for key in ("unknown_period", "unknown_contract", "unknown_outcome"):
        english, zh = SUBSCRIPTION_REASONS[key], SUBSCRIPTION_REASONS_ZH[key]
        assert "data." in english and "data." in zh  # for whoever fixes the data
        assert "data." not in in_plain_words(english) + in_plain_words(zh), key
