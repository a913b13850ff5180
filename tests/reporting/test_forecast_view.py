"""The report's forecast and churn window sections and the workbook's forecast sheet: plain words
in each language, the backtest's figures, and one line when there is nothing to show."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import openpyxl
import pytest

from segml.reporting.exports import build_exports
from segml.reporting.report import render
from segml.reporting.sheet_view import sheet_name
from segml.reporting.workbook import SHEETS
from tests.reporting.conftest import sample_report_inputs, visible_text

FORECAST = {
    "scorer": "model",
    "factor": 0.93,
    "applied": True,
    "level": 0.8,
    "within_10_percent": True,
    "total_error_en": "in the backtest the forecast total was 2–14 % high; corrected, 2–9 % high",
    "total_error_zh": "回测中预测总额偏高2%–14%；校正后偏高2%–9%",
    "cutoffs": {"fold_1": "2025-08-03", "fold_2": "2025-09-02"},
    "folds": {
        "fold_1": {
            "total_ratio": 1.019,
            "total_ratio_high": 0.995,
            "total_ratio_mid": 1.17,
            "total_ratio_low": 1.35,
            "coverage": 0.829,
            "coverage_floor": 0.83,
            "p10_zero_share": 0.77,
        },
        "fold_2": {
            "total_ratio": 1.07,
            "total_ratio_calibrated": 1.05,
            "total_ratio_high": 1.056,
            "total_ratio_high_calibrated": 1.036,
            "total_ratio_mid": 1.176,
            "total_ratio_mid_calibrated": 1.154,
            "total_ratio_low": 1.128,
            "total_ratio_low_calibrated": 1.106,
            "coverage": 0.796,
            "coverage_floor": 0.828,
            "p10_zero_share": 0.8,
        },
    },
}
NEXT_PURCHASE = {
    "scorer": "model",
    "cutoffs": FORECAST["cutoffs"],
    "folds": {
        "fold_1": {
            "date_share": 0.58,
            "date_right": 0.81,
            "none_right": 0.82,
            "date_error_days": 16.2,
            "date_error_median_days": 10.0,
        },
        "fold_2": {
            "date_share": 0.59,
            "date_right": 0.81,
            "none_right": 0.83,
            "date_error_days": 15.8,
            "date_error_median_days": 11.0,
        },
    },
}
WINDOW = {
    "computed_at": "2026-01-05T10:00:00",
    "as_of": "2025-12-31",
    "configured_horizon_days": 90,
    "customers": 20000,
    "sample": None,
    "windows": [
        {
            "horizon_days": 30,
            "churn_rate": 0.615,
            "model_roc_auc": 0.8615,
            "best_baseline": "baseline_bgnbd",
            "baseline_roc_auc": 0.8572,
            "grade": "B",
            "value_gini": 0.8588,
            "status": {"new": 2317, "active": 6358, "at_risk": 6127, "lost": 5183},
            "changed_status": 1433,
            "seconds": 31.0,
        },
        {
            "horizon_days": 90,
            "churn_rate": 0.453,
            "model_roc_auc": 0.8992,
            "best_baseline": "baseline_bgnbd_expected",
            "baseline_roc_auc": 0.8918,
            "grade": "B",
            "value_gini": 0.9118,
            "status": {"new": 2317, "active": 7788, "at_risk": 4697, "lost": 5183},
            "changed_status": 0,
            "seconds": 35.0,
        },
        {"horizon_days": 180, "error": "Data insufficient for training: history is 300 days"},
    ],
}


def with_forecast(table, summary, backtest):
    n = len(table)
    rng = np.random.default_rng(1)
    dated = rng.random(n) < 0.6
    shown = table.assign(
        predicted_value_p10=np.where(rng.random(n) < 0.8, 0.0, 50.0),
        predicted_value_p90=table["predicted_value"] * 2,
        expected_next_purchase_date=np.where(dated, "2026-01-20", None),
        next_purchase_source=np.where(dated, "own_gaps", "none_expected"),
    )
    return dataclasses.replace(
        sample_report_inputs(shown, summary, backtest),
        forecast=FORECAST,
        next_purchase=NEXT_PURCHASE,
        horizon_days=90,
        window=WINDOW,
    )


@pytest.mark.parametrize("language", ["zh", "en", "both"])
def test_forecast_and_window_sections_in_plain_words(cfg, table, summary, backtest, language):
    ecfg = dataclasses.replace(cfg.export, language=language)
    page = render(with_forecast(table, summary, backtest), ["low", "mid", "high"], ecfg)
    assert 'id="forecast"' in page and 'id="window"' in page
    assert page.index('id="backtest"') < page.index('id="forecast"') < page.index('id="window"')
    assert page.index('id="window"') < page.index('id="calibration"')
    text = visible_text(page)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]
    assert "NaN" not in text and not re.search(r"\d\.\d{4,}", text)
    if language != "zh":
        assert "Forecast for the next 90 days" in text and "The corrected total adds up" in text
        assert "1.05 (5 % high)" in text  # fold 2, corrected
        assert "none is expected within 90 days" in text and "16 days" in text
        assert "Data insufficient for training" in text  # the 180-day window could not be run
    if language != "en":
        assert "未来90天预测" in text and "流失观察期" in text


def test_without_forecast_or_window_each_section_says_so(cfg, table, summary):
    page = render(sample_report_inputs(table, summary), ["low", "mid", "high"], cfg.export)
    text = visible_text(page)
    assert "No forecast in this run" in text and "segml window" in text


def test_workbook_forecast_sheet(cfg, table, summary, backtest):
    ecfg = dataclasses.replace(cfg.export, language="en")
    inputs = with_forecast(table, summary, backtest)
    book = build_exports(inputs, cfg.tiering.actions, ["low", "mid", "high"], ecfg, None)
    sheets = openpyxl.load_workbook(io.BytesIO(book.workbook))
    assert SHEETS.index("movement") < SHEETS.index("forecast")
    assert sheets.sheetnames == [sheet_name(key, ecfg) for key in SHEETS]
    forecast = sheets.worksheets[SHEETS.index("forecast")]
    cells = [c.value for row in forecast.iter_rows() for c in row if c.value is not None]
    assert "Forecast for the next period, per tier" in cells
    assert "How the forecast did in the backtest" in cells
    assert "… corrected by earlier folds" in cells and 1.05 in cells
    assert any(isinstance(c, str) and "2–9 % high" in c for c in cells)
    customers = sheets.worksheets[SHEETS.index("customers")]
    assert "Next purchase: based on" in [c.value for c in customers[1]]
    values = {c.value for row in customers.iter_rows(min_row=2) for c in row}
    assert "None expected within the churn window" in values and "none_expected" not in values
    empty = dataclasses.replace(inputs, forecast=None, next_purchase=None)
    book = build_exports(empty, cfg.tiering.actions, ["low", "mid", "high"], ecfg, None)
    sheet = openpyxl.load_workbook(io.BytesIO(book.workbook)).worksheets[SHEETS.index("forecast")]
    assert sheet["A1"].value == "No forecast in this run (the models were not trained)."


def test_workbook_forecast_sheet_of_a_both_project_names_each_parts_backtest(
    cfg, table, summary, backtest
):
    """data.kind both: the tiers' forecast over the whole table, then each part's error in words
    and its folds under the part's name (never one part's backtest passed off as the project's)."""
    ecfg = dataclasses.replace(cfg.export, language="en")
    inputs = with_forecast(table, summary, backtest)
    subscribers = dict(
        FORECAST, total_error_en="subscribers: 3–5 % low", total_error_zh="订阅客户：偏低3%–5%"
    )
    parts = {
        "subscriptions": dataclasses.replace(inputs, forecast=subscribers, next_purchase=None),
        "transactions": inputs,
    }
    book = build_exports(
        inputs, cfg.tiering.actions, ["low", "mid", "high"], ecfg, None, parts=parts
    )
    forecast = openpyxl.load_workbook(io.BytesIO(book.workbook)).worksheets[
        SHEETS.index("forecast")
    ]
    cells = [c.value for row in forecast.iter_rows() for c in row if c.value is not None]
    assert cells.count("Forecast for the next period, per tier") == 1
    first, second = (
        cells.index("Subscribers (churn: cancels subscription)"),
        cells.index("Buyers (churn: stops buying)"),
    )
    assert first < cells.index("subscribers: 3–5 % low") < second
    assert any(isinstance(c, str) and "2–9 % high" in c for c in cells[second:])
    assert cells.count("How the forecast did in the backtest") == 2


@pytest.mark.parametrize(
    "applied, within, said",
    [
        (True, True, "The corrected total adds up: in every backtest fold, the forecast corrected"),
        (True, False, "The total is uncertain: even corrected by the folds before it"),
        (False, True, "The total adds up: within 10 % of what customers spent in every backtest"),
        (False, False, "The total is uncertain: more than 10 % off what customers spent"),
    ],
)
def test_the_totals_sentence_says_which_figures_it_judges(
    cfg, table, summary, backtest, applied, within, said
):
    """A corrected forecast is judged on the corrected column: the sentence says so, so that
    "within 10 %" never reads as a claim about the uncorrected fold beside it (14 % high)."""
    forecast = {**FORECAST, "applied": applied, "within_10_percent": within}
    inputs = dataclasses.replace(with_forecast(table, summary, backtest), forecast=forecast)
    ecfg = dataclasses.replace(cfg.export, language="en")
    text = " ".join(visible_text(render(inputs, ["low", "mid", "high"], ecfg)).split())
    assert said in text
    if applied:
        assert "“… corrected by earlier folds”" in text
