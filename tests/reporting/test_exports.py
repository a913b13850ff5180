"""What business users receive: workbook sheets and headers, report sections, minimal personal data."""

from __future__ import annotations

import dataclasses
import datetime
import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segml.errors import ExportError
from segml.reporting.exports import build_exports
from segml.reporting.model_quality import frequency_recency_matrix
from segml.reporting.privacy import pseudonymize
from segml.reporting.report import SECTIONS, ReportInputs, render
from segml.reporting.table import export_table
from segml.reporting.workbook import display_width, workbook


@pytest.fixture()
def table():
    n = 30
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "as_of": "2025-12-31",
            "tier": rng.choice(list("ABC"), n),
            "value_level": rng.choice(["low", "mid", "high"], n),
            "potential_level": rng.choice(["low", "mid", "high"], n),
            "current_value": rng.gamma(2, 500, n),
            "predicted_value": rng.gamma(2, 200, n),
            "churn_probability": rng.random(n),
            "action_en": "call",
            "action_zh": "回访",
            "action_team_en": "Sales",
            "action_team_zh": "销售团队",
            "lifecycle_action_en": "Retention call",
            "lifecycle_action_zh": "挽留回访",
            "lifecycle_action_team_en": "Customer service",
            "lifecycle_action_team_zh": "客户服务团队",
            "value_reasons_en": "raises value: spent ¥1,200 in the last 90 days",
            "value_reasons_zh": "推高预测价值：近90天消费¥1,200",
            "churn_reasons_en": "raises risk: no purchase for 120 days",
            "churn_reasons_zh": "推高流失风险：已120天未购买",
            "lifecycle_status": rng.choice(["new", "active", "at_risk", "lost"], n),
            "rfm_r": rng.integers(1, 6, n),
            "rfm_f": rng.integers(1, 6, n),
            "rfm_m": rng.integers(1, 6, n),
            "rfm_segment": rng.choice(["champions", "lost"], n),
        }
    ).assign(
        lifecycle_en=lambda f: f["lifecycle_status"].str.replace("_", " "),
        lifecycle_zh=lambda f: f["lifecycle_status"].map(
            {"new": "新客户", "active": "活跃客户", "at_risk": "流失预警", "lost": "已流失"}
        ),
        rfm_segment_en=lambda f: f["rfm_segment"].str.title(),
        rfm_segment_zh=lambda f: f["rfm_segment"].map(
            {"champions": "冠军客户", "lost": "已流失客户"}
        ),
    )


@pytest.fixture()
def summary():
    return pd.DataFrame(
        {
            "tier": ["A", "B", "C"],
            "customers": [5, 10, 15],
            "customer_share": [1 / 6, 1 / 3, 1 / 2],
            "value_share": [0.8, 0.15, 0.05],
            "mean_churn_probability": [0.1, 0.3, 0.7],
        }
    )


def test_pseudonyms_are_stable_per_salt_and_differ_across_salts():
    ids = pd.Series(["001", "002", "001"])
    first, again, other = pseudonymize(ids, "s1"), pseudonymize(ids, "s1"), pseudonymize(ids, "s2")
    assert first.tolist() == again.tolist() and first[0] == first[2] and first[0] != first[1]
    assert not set(first) & set(other)
    assert all(re.fullmatch("[0-9a-f]{16}", v) for v in first)


def test_export_allow_list_language_and_salt(cfg, table):
    ecfg = dataclasses.replace(
        cfg.export,
        language="zh",
        columns=["customer_id", "tier", "action_zh", "action_en"],
        pseudonymize_ids=True,
    )
    out = export_table(table, ecfg, salt="pepper")
    assert list(out.columns) == [
        "customer_id",
        "tier",
        "action_zh",
    ]  # English dropped for a zh export
    assert out["customer_id"].tolist() == pseudonymize(table["customer_id"], "pepper").tolist()
    assert table["customer_id"].iloc[0] == "00000"  # the input is not mutated
    with pytest.raises(ExportError, match="SEGML_ID_SALT"):
        export_table(table, ecfg, salt=None)
    with pytest.raises(ExportError, match="nope"):
        export_table(table, dataclasses.replace(cfg.export, columns=["nope"]), None)
    with pytest.raises(ExportError, match=r"\['tier'\] more than once"):
        export_table(table, dataclasses.replace(cfg.export, columns=["tier", "tier"]), None)


def opened_workbook(cfg, table, summary, ecfg, metrics=None, **options) -> openpyxl.Workbook:
    """The workbook of the exported table (no movement), as Excel would open it."""
    metrics = pd.DataFrame({"target": ["churn"]}) if metrics is None else metrics
    exported = export_table(table, ecfg, None)
    raw = workbook(
        exported, summary, {"available": False}, metrics, cfg.tiering.actions, ecfg, **options
    )
    return openpyxl.load_workbook(io.BytesIO(raw))


@pytest.mark.parametrize(
    "language, header", [("zh", "客户等级"), ("en", "Tier"), ("both", "客户等级 Tier")]
)
def test_workbook_sheets_and_localised_headers(cfg, table, summary, language, header):
    ecfg = dataclasses.replace(cfg.export, language=language)
    book = opened_workbook(cfg, table, summary, ecfg)
    assert book.sheetnames == ["summary", "tiers", "lifecycle", "rfm", "movement", "actions"]
    sheet = book["tiers"]
    headers = [c.value for c in sheet[1]]
    assert header in headers
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    churn_col = (
        headers.index(
            {"zh": "流失概率", "en": "Churn probability", "both": "流失概率 Churn probability"}[
                language
            ]
        )
        + 1
    )
    assert sheet.cell(row=2, column=churn_col).number_format == "0.0%"
    actions = [c.value for c in book["actions"]["D"]][1:]
    assert any(isinstance(v, str) and v for v in actions)


def test_workbook_fits_print_and_cjk_headers(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, language="zh")
    metrics = pd.DataFrame(
        {
            "target": ["churn", "churn"],
            "scorer": ["model", "baseline_recency"],
            "roc_auc": [0.812345678, 0.8],
        }
    )
    book = opened_workbook(cfg, table, summary, ecfg, metrics, teams=cfg.tiering.teams)
    sheet = book["tiers"]
    setup = sheet.page_setup  # one page wide (absent means 1, the file format's default), any tall
    assert setup.orientation == "landscape" and setup.fitToWidth in (None, 1)
    assert setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows == "$1:$1"
    widths = {  # neighbouring columns of one width are stored as one range
        j: d.width for d in sheet.column_dimensions.values() for j in range(d.min, d.max + 1)
    }
    for cell in sheet[1]:  # every header fits: wide characters count twice
        assert widths[cell.column] >= display_width(cell.value) + 2
    lifecycle = [[c.value for c in row] for row in book["lifecycle"].iter_rows()]
    assert lifecycle[0][:2] == ["生命周期", "客户数"] and [r[0] for r in lifecycle[1:]] == [
        "新客户",
        "活跃客户",
        "流失预警",
        "已流失",
    ]
    assert sum(r[1] for r in lifecycle[1:]) == len(table)
    # model quality: plain names, three decimals, no raw metric or scorer names
    summary_cells = [
        c.value for row in book["summary"].iter_rows() for c in row if c.value is not None
    ]
    assert "ROC AUC（区分度）" in summary_cells and "规则：距上次购买天数" in summary_cells
    assert (
        0.812 in summary_cells
        and "roc_auc" not in summary_cells
        and "baseline_recency" not in summary_cells
    )
    teams = {c.value for c in book["actions"]["C"]}
    assert {"大客户团队", "销售团队"} <= teams  # team names in Chinese for a Chinese workbook


def test_workbook_cells_blank_for_missing_and_infinite_and_dates_as_text(cfg, table, summary):
    odd = pd.DataFrame(
        {
            "lift_top10": [float("inf"), float("nan"), 1.5],
            "when": [pd.Timestamp("2025-01-02 03:04:05"), pd.NaT, pd.Timestamp("2025-01-03")],
            "day": [datetime.date(2025, 1, 2), None, datetime.date(2025, 1, 3)],
        }
    )
    book = opened_workbook(cfg, table, summary, cfg.export, metrics=odd)
    rows = [[c.value for c in row] for row in book["summary"].iter_rows()]
    start = next(i for i, row in enumerate(rows) if "2025-01-03 00:00:00" in row)
    block = [row[:3] for row in rows[start - 2 : start + 1]]
    assert block == [
        [None, "2025-01-02 03:04:05", "2025-01-02"],
        [None, None, None],
        [1.5, "2025-01-03 00:00:00", "2025-01-03"],
    ]


def test_display_width_counts_wide_characters_twice():
    assert (
        display_width("Tier") == 4
        and display_width("客户等级") == 8
        and display_width("ABC等级") == 7
    )


def test_workbook_bytes_are_identical_between_runs(cfg, table, summary):
    import time

    def build():
        return workbook(
            table,
            summary,
            {"available": False},
            pd.DataFrame({"target": ["churn"]}),
            cfg.tiering.actions,
            cfg.export,
            teams=cfg.tiering.teams,
        )

    first = build()
    time.sleep(2.1)  # zip entry times have a two-second resolution
    assert build() == first
    core = openpyxl.load_workbook(io.BytesIO(first)).properties
    assert core.created.date().isoformat() == "2025-12-31" == core.modified.date().isoformat()
    assert core.creator == "segml"


def _report_inputs(table, summary, backtest=None):
    movement = {
        "available": True,
        "kept_share": 0.9,
        "matrix": pd.DataFrame({"previous": ["A"], "A": [1]}),
        "upgrades": table.head(2).assign(previous="B", current="A", previous_value=10.0),
        "downgrades": table.iloc[2:3].assign(previous="A", current="C", previous_value=900.0),
    }
    plots = {
        "calibration": pd.DataFrame({"mean_predicted": [0.2, 0.8], "observed_rate": [0.25, 0.7]}),
        "lift": pd.DataFrame(
            {
                "scorer": ["model", "model"],
                "share_contacted": [0.5, 1.0],
                "share_churners_caught": [0.7, 1.0],
            }
        ),
        "deciles": pd.DataFrame(
            {
                "decile": [1, 2],
                "customers": [15, 15],
                "mean_predicted": [5.0, 1.0],
                "mean_actual": [4.0, 2.0],
            }
        ),
    }
    features = pd.DataFrame(
        {
            "frequency": [1.0, 1, 2, 12],
            "recency_days": [10.0, 20, 400, 5],
            "bgnbd_p_alive": [0.9, 0.7, 0.1, 1.0],
            "bgnbd_expected_purchases": [0.2, 0.4, 0.0, 3.0],
        }
    )
    return ReportInputs(
        table=table,
        summary=summary,
        movement=movement,
        metrics=pd.DataFrame(
            {
                "target": ["churn", "churn"],
                "scorer": ["model", "baseline_recency"],
                "roc_auc": [0.9, 0.85],
            }
        ),
        grades={
            "churn": {
                "grade": "C",
                "beats_baseline": False,
                "best_baseline": "baseline_recency",
                "margin_over_best_baseline": -0.01,
                "verdict_en": "Not better than the recency rule.",
                "verdict_zh": "不优于最近购买规则。",
                "scorer": "baseline_recency",
                "scorer_reason_en": "the rule is as good and simpler",
                "scorer_reason_zh": "规则同样好且更简单",
            }
        },
        profile=pd.DataFrame(
            {"persona_en": ["Champions"], "persona_zh": ["冠军客户"], "customers": [30]}
        ),
        plots=plots,
        importance=pd.DataFrame({"model": ["churn"], "feature": ["recency_days"], "gain": [1.0]}),
        quality={"rows_read": 10, "rejected_by_reason": {"duplicate": 1}},
        as_of="2025-12-31",
        primary="abc",
        backtest=backtest,
        features=features,
    )


@pytest.fixture()
def backtest():
    rows = []
    for target, metrics in (
        ("churn", ["roc_auc", "brier"]),
        ("upside", ["normalized_gini", "top20_capture"]),
    ):
        scorers = (
            ["model", "baseline_recency", "baseline_bgnbd"]
            if target == "churn"
            else ["model", "baseline_last_period"]
        )
        for fold, cutoff in enumerate(["2025-03-31", "2025-06-30", "2025-09-30"]):
            for k, scorer in enumerate(scorers):
                for metric in metrics:
                    rows.append(
                        {
                            "target": target,
                            "fold_cutoff": cutoff,
                            "scorer": scorer,
                            "metric": metric,
                            "value": 0.7 + 0.01 * fold - 0.02 * k,
                        }
                    )
    return pd.DataFrame(rows)


def _visible_text(page: str) -> str:
    page = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


@pytest.mark.parametrize("language", ["zh", "en", "both"])
def test_report_sections_language_and_plain_labels(cfg, table, summary, backtest, language):
    ecfg = dataclasses.replace(cfg.export, language=language)
    page = render(_report_inputs(table, summary, backtest), ["low", "mid", "high"], ecfg)
    for key in (
        "kpis",
        "tiers",
        "lifecycle",
        "at-risk",
        "teams",
        "rfm",
        "movement",
        "grades",
        "backtest",
        "calibration",
        "matrices",
        "quality",
    ):
        assert f'id="{key}"' in page, key
    assert key in SECTIONS
    assert page.count("<script") >= 1 and "plotly" in page.lower()
    # opens offline: no link, stylesheet, font or script from the web (plotly.js itself is inline; the
    # browser test proves it requests nothing either)
    outside_scripts = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"https?://|//cdn|@import|@font-face", outside_scripts)
    assert not re.search(r"<script[^>]+src=", page)
    text = _visible_text(page)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]
    assert "NaN" not in text and not re.search(r"\d\.\d{3,}", text)
    zh, en = "规则：距上次购买天数" in text, "Rule: days since last purchase" in text
    assert (zh, en) == {"zh": (True, False), "en": (False, True), "both": (True, True)}[language]
    assert ("folds" in text) == (language != "zh") and ("0.71 ± 0.01" in text)  # model: .70 .71 .72


def test_report_without_backtest_says_so(cfg, table, summary):
    page = render(_report_inputs(table, summary), ["low", "mid", "high"], cfg.export)
    assert "No backtest results in this run." in page


def test_frequency_recency_matrix_by_hand():
    features = pd.DataFrame(
        {
            "frequency": [1.0, 1, 2, 12],
            "recency_days": [10.0, 20, 400, 5],
            "bgnbd_p_alive": [0.9, 0.7, 0.1, 1.0],
        }
    )
    matrix = frequency_recency_matrix(features, "bgnbd_p_alive")
    assert matrix.loc["0", "0–30"] == pytest.approx(
        0.8
    )  # two one-time buyers, bought 10 and 20 days ago
    assert matrix.loc["1", "366+"] == pytest.approx(0.1) and matrix.loc["10+", "0–30"] == 1.0
    assert matrix.isna().sum().sum() == matrix.size - 3


def test_build_exports_writes_report_and_workbook(cfg, table, summary):
    exports = build_exports(
        _report_inputs(table, summary),
        cfg.tiering.actions,
        ["low", "mid", "high"],
        cfg.export,
        None,
        cfg.tiering.teams,
    )
    assert exports.report.startswith("<!DOCTYPE html>") and exports.workbook[:2] == b"PK"


def test_report_shows_only_pseudonyms_when_asked(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, pseudonymize_ids=True, columns=["tier"])
    exports = build_exports(
        _report_inputs(table, summary), cfg.tiering.actions, ["low", "mid", "high"], ecfg, "pepper"
    )
    text = _visible_text(exports.report)
    assert not any(re.search(rf"\b{cid}\b", text) for cid in table["customer_id"])
    at_risk = table["lifecycle_status"] == "at_risk"
    assert any(p in text for p in pseudonymize(table.loc[at_risk, "customer_id"], "pepper"))


def test_movers_are_explained_by_their_own_spend_or_by_moved_boundaries(cfg, table, summary):
    inputs = _report_inputs(table, summary)
    same = table.iloc[3:4].assign(
        previous="A", current="B", previous_value=table["current_value"].iloc[3]
    )
    movement = {**inputs.movement, "downgrades": same}
    ecfg = dataclasses.replace(cfg.export, language="en")
    text = _visible_text(render(dataclasses.replace(inputs, movement=movement), None, ecfg))
    rose = f"rose from ¥10 to ¥{table['current_value'].iloc[0]:,.0f}"
    assert f"spend in the last 12 months {rose}" in text
    assert "same spend; the tier boundaries moved" in text


def test_workbook_lists_the_most_valuable_customers_when_capped_and_says_so(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, language="en", workbook_customers=5)
    book = opened_workbook(cfg, table, summary, ecfg)
    rows = list(book["tiers"].iter_rows(values_only=True))
    ids = [row[0] for row in rows[1:]]
    expected = table.sort_values("current_value", ascending=False)["customer_id"].head(5)
    assert ids == expected.tolist()
    notes = [v for row in book["summary"].iter_rows(values_only=True) for v in row if v]
    assert any("5 customers with the highest current value, of 30" in str(v) for v in notes)
    # lifecycle and RFM sheets still count everyone
    lifecycle = list(book["lifecycle"].iter_rows(values_only=True))[1:]
    assert sum(row[1] for row in lifecycle if isinstance(row[1], int)) == len(table)
