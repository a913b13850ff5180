"""The workbook as Excel opens it: sheets, localised headers, number formats, print setup, cells,
the same bytes for the same data, and the most valuable customers when capped."""

from __future__ import annotations

import dataclasses
import datetime
import io

import openpyxl
import pandas as pd
import pytest

from segml.reporting.table import export_table
from segml.reporting.workbook import display_width, workbook


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
    # the shared order (notes/phase2.md); a sheet with nothing this run says so in one line
    assert book.sheetnames == [
        "summary",
        "tiers",
        "movement",
        "audit",
        "forecast",
        "lifecycle",
        "rfm",
        "actions",
    ]
    note = [c.value for c in book["audit"]["A"]]
    assert len(note) == 2 and ("No earlier period" in note[1] or "暂无" in note[1])
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
