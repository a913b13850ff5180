"""The workbook as Excel opens it: the call list first and the sheets in the shared order,
localised headers, columns in reading order, codes and yes/no as words, money in the currency
format, wrapped reasons, print setup, cells, the same bytes for the same data, and the most
valuable customers when capped."""

from __future__ import annotations

import dataclasses
import datetime
import io

import openpyxl
import pandas as pd
import pytest

from segml.reporting.sheet_view import display_width, number_format, sheet_name
from segml.reporting.table import export_table
from segml.reporting.workbook import SHEETS, workbook


def opened_workbook(cfg, table, summary, ecfg, metrics=None, **options) -> openpyxl.Workbook:
    """The workbook of the exported table (no movement), as Excel would open it."""
    metrics = pd.DataFrame({"target": ["churn"]}) if metrics is None else metrics
    exported = export_table(table, ecfg, None)
    raw = workbook(
        exported, summary, {"available": False}, metrics, cfg.tiering.actions, ecfg, **options
    )
    return openpyxl.load_workbook(io.BytesIO(raw))


def sheet(book: openpyxl.Workbook, key: str):
    """A sheet by its key (`SHEETS`): names are in the export language."""
    return book.worksheets[SHEETS.index(key)]


@pytest.mark.parametrize(
    "language, header", [("zh", "客户等级"), ("en", "Tier"), ("both", "客户等级 Tier")]
)
def test_workbook_sheets_and_localised_headers(cfg, table, summary, language, header):
    ecfg = dataclasses.replace(cfg.export, language=language)
    book = opened_workbook(cfg, table, summary, ecfg)
    assert book.sheetnames == [sheet_name(key, ecfg) for key in SHEETS]
    assert (
        book.sheetnames[0]
        == {"zh": "优先联系名单", "en": "Call list", "both": "优先联系名单 Call list"}[language]
    )
    # a sheet with nothing this run says so in one line
    note = [c.value for c in book.worksheets[SHEETS.index("audit")]["A"]]
    assert len(note) == 1 and ("No earlier period" in note[0] or "暂无" in note[0])
    sheet = book.worksheets[SHEETS.index("customers")]
    headers = [c.value for c in sheet[1]]
    assert header in headers
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref.startswith("A1:")
    churn_col = (
        headers.index(
            {"zh": "流失概率", "en": "Churn probability", "both": "流失概率 Churn probability"}[
                language
            ]
        )
        + 1
    )
    assert sheet.cell(row=2, column=churn_col).number_format == "0.0%"
    actions = [c.value for c in book.worksheets[SHEETS.index("actions")]["D"]][1:]
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
    for key in ("customers", "actions"):  # a wide sheet and a narrow one
        page = sheet(book, key)
        setup = page.page_setup
        assert setup.orientation == "landscape" and setup.paperSize == 9  # A4
        assert page.print_title_rows == "$1:$1"  # the header on every page
        widths = {  # neighbouring columns of one width are stored as one range
            j: d.width for d in page.column_dimensions.values() for j in range(d.min, d.max + 1)
        }
        # A4 landscape is 148 cells wide at 100 %: fitted to one page only where that keeps 75 %
        if 100 * 148 / sum(widths.values()) >= 75:
            assert page.sheet_properties.pageSetUpPr.fitToPage and setup.fitToHeight == 0
        else:  # wider: at 75 % across pages, the customer column repeated
            assert key == "customers" and setup.scale == 75 and page.print_title_cols == "$A:$A"
        for cell in page[1]:  # a header fits its column, or wraps onto lines the row is tall for
            lines = -(-display_width(cell.value) // (widths[cell.column] - 1))
            assert lines == 1 or page.row_dimensions[1].height >= 15 * lines
    lifecycle = [[c.value for c in row] for row in sheet(book, "lifecycle").iter_rows()]
    assert lifecycle[0][:2] == ["生命周期", "客户数"] and [r[0] for r in lifecycle[1:]] == [
        "新客户",
        "活跃客户",
        "流失预警",
        "已流失",
    ]
    assert sum(r[1] for r in lifecycle[1:]) == len(table)
    # model quality: plain names, three decimals, no raw metric or scorer names
    summary_cells = [
        c.value for row in sheet(book, "summary").iter_rows() for c in row if c.value is not None
    ]
    assert "ROC AUC（区分度）" in summary_cells and "规则：距上次购买天数" in summary_cells
    assert (
        0.812 in summary_cells
        and "roc_auc" not in summary_cells
        and "baseline_recency" not in summary_cells
    )
    teams = {c.value for c in sheet(book, "actions")["C"]}
    assert {"大客户团队", "销售团队"} <= teams  # team names in Chinese for a Chinese workbook


def test_workbook_names_the_value_models_bgnbd_baseline_bgnbd_x_gamma_gamma(cfg, table, summary):
    metrics = pd.DataFrame(
        {
            "target": ["churn", "upside"],
            "scorer": ["baseline_bgnbd", "baseline_bgnbd"],
            "roc_auc": [0.8, None],
            "normalized_gini": [None, 0.5],
        }
    )
    ecfg = dataclasses.replace(cfg.export, language="both")
    book = opened_workbook(cfg, table, summary, ecfg, metrics)
    cells = [c.value for row in sheet(book, "summary").iter_rows() for c in row]
    assert "BG/NBD概率模型 BG/NBD" in cells  # churn: BG/NBD itself
    assert "BG/NBD×Gamma-Gamma BG/NBD x Gamma-Gamma" in cells  # value: with Gamma-Gamma


def test_workbook_cells_blank_for_missing_and_infinite_and_dates_as_text(cfg, table, summary):
    odd = pd.DataFrame(
        {
            "lift_top10": [float("inf"), float("nan"), 1.5],
            "when": [pd.Timestamp("2025-01-02 03:04:05"), pd.NaT, pd.Timestamp("2025-01-03")],
            "day": [datetime.date(2025, 1, 2), None, datetime.date(2025, 1, 3)],
        }
    )
    book = opened_workbook(cfg, table, summary, cfg.export, metrics=odd)
    rows = [[c.value for c in row] for row in sheet(book, "summary").iter_rows()]
    start = next(i for i, row in enumerate(rows) if "2025-01-03 00:00:00" in row)
    block = [row[:3] for row in rows[start - 2 : start + 1]]
    assert block == [
        [None, "2025-01-02 03:04:05", "2025-01-02"],
        [None, None, None],
        [1.5, "2025-01-03 00:00:00", "2025-01-03"],
    ]


def test_whole_numbers_in_float_columns_never_show_a_bare_dot(cfg, table, summary):
    """ "#,##0.##" showed 58 as "58." in Excel: a float column of whole numbers (days, with a
    blank) is "#,##0", any other "#,##0.00"."""
    days = [58.0, float("nan"), *[61.0] * (len(table) - 2)]
    ecfg = dataclasses.replace(cfg.export, language="en")
    book = opened_workbook(cfg, table.assign(recency_days=days), summary, ecfg)
    page = sheet(book, "customers")
    column = next(c.column for c in page[1] if c.value == "Days since last purchase")
    cells = [page.cell(row=r, column=column) for r in range(2, page.max_row + 1)]
    assert {c.number_format for c in cells if c.value is not None} == {"#,##0"}
    assert 58 in [c.value for c in cells]
    assert number_format("expected", pd.Series([1.5, 2.0, float("nan")]), ecfg) == "#,##0.00"
    assert number_format("expected", pd.Series([1.0, float("inf")]), ecfg) == "#,##0"


def test_small_words_lifecycle_status_mean_absolute_error_and_the_customers_sheet(
    cfg, table, summary
):
    """The lifecycle header says what it is (it was "Lifecycle key / 生命周期代码"); the mean
    absolute error is money ("¥" to the yuan, not 547.705); the capped list's note names the sheet
    by its real name (it said "the tier sheet")."""
    metrics = pd.DataFrame({"target": ["upside"], "scorer": ["model"], "mae": [547.70512]})
    lifecycle = pd.DataFrame({"lifecycle_status": ["active"], "customers": [3]})
    for language, header, sheet_words in (
        ("en", "Lifecycle status", 'The sheet "Customers" lists the 5 customers'),
        ("zh", "生命周期状态", "“客户明细”工作表仅列出"),
    ):
        ecfg = dataclasses.replace(cfg.export, language=language, workbook_customers=5)
        book = opened_workbook(
            cfg, table, summary, ecfg, metrics, sheets={"audit": [("", lifecycle)]}
        )
        assert [c.value for c in sheet(book, "audit")[1]][0] == header
        cells = [c for row in sheet(book, "summary").iter_rows() for c in row]
        mae = next(c for c in cells if c.value == 547.71)
        assert mae.number_format == ecfg.money_format == '"¥"#,##0'
        assert any(sheet_words in str(c.value) for c in cells), language


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
    rows = list(sheet(book, "customers").iter_rows(values_only=True))
    ids = [row[0] for row in rows[1:]]
    expected = table.sort_values("current_value", ascending=False)["customer_id"].head(5)
    assert ids == expected.tolist()
    notes = [v for row in sheet(book, "summary").iter_rows(values_only=True) for v in row if v]
    assert any("5 customers with the highest current value, of 30" in str(v) for v in notes)
    # lifecycle and RFM sheets still count everyone
    lifecycle = list(sheet(book, "lifecycle").iter_rows(values_only=True))[1:]
    assert sum(row[1] for row in lifecycle if isinstance(row[1], int)) == len(table)


def test_call_list_sheet_comes_first_ranked_by_value_at_stake_with_its_cap(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, language="en", call_list_customers=3)
    table = table.assign(churn_band="high")
    book = opened_workbook(cfg, table, summary, ecfg, teams=cfg.tiering.teams)
    calls = book.worksheets[0]
    rows = list(calls.iter_rows(values_only=True))
    at_risk = table[table["lifecycle_status"] == "at_risk"]
    stake = at_risk["churn_probability"] * at_risk["current_value"]
    expected = at_risk.assign(stake=stake).sort_values("stake", ascending=False).head(3)
    assert f"3 of {len(at_risk)} at-risk customers" in rows[0][0]
    assert "stops at 3 customers" in rows[0][0]
    header = list(rows[1])
    assert header[:5] == ["Rank", "Customer ID", "Tier", "Churn risk", "Value at stake"]
    ids = [row[1] for row in rows[2:]]
    assert ids == expected["customer_id"].tolist()
    got = [row[header.index("Value at stake")] for row in rows[2:]]
    assert got == [round(v, 2) for v in expected["stake"]]
    assert {row[3] for row in rows[2:]} == {"High"}
    assert calls.print_title_rows == "$2:$2" and calls.freeze_panes == "C3"
    money = calls.cell(row=3, column=header.index("Value at stake") + 1)
    assert money.number_format == ecfg.money_format == '"¥"#,##0'
    reasons = calls.cell(row=3, column=header.index("Churn risk reasons") + 1)
    assert reasons.alignment.wrap_text and reasons.value == "raises risk: no purchase for 120 days"


def test_customers_sheet_in_reading_order_with_codes_and_yes_no_as_words(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, language="en")
    extra = table.assign(
        churn_band="medium",
        value_at_stake=1.0,
        persona_adjusted=[True, False] * 15,
        tier_pyramid="gold",
        vp_strategy="develop",
    )
    book = opened_workbook(cfg, extra, summary, ecfg)
    rows = list(sheet(book, "customers").iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:10] == [
        "Customer ID",
        "Tier",
        "Lifecycle",
        "Action",
        "Owning team",
        "Lifecycle action",
        "Lifecycle owner",
        "Current value (12 months)",
        "Value at stake",
        "Churn risk",
    ]
    assert header.index("Churn risk reasons") < header.index("Predicted value (next period)")
    first = dict(zip(header, rows[1]))
    assert first["Churn risk"] == "Medium" and first["Persona set by lifecycle"] == "Yes"
    # levels and bands by their own words ("high" alone heads the audit's "Band to" column)
    levels = {row[header.index("Value level")] for row in rows[1:]}
    assert levels == {"Low", "Mid", "High"}
    assert dict(zip(header, rows[2]))["Persona set by lifecycle"] == "No"
    assert first["Pyramid tier"] == "Gold" and first["Strategy"] == "Develop"
    # codes whose words have their own column are not shown twice
    assert not {"lifecycle_status", "rfm_segment", "Lifecycle status"} & set(header)


def test_workbook_takes_columns_and_sheets_that_other_stages_add(cfg, table, summary):
    """Columns of the forecast and monthly loop go to their places in the reading order; a sheet
    with nothing this run says so in one line; one with blocks shows them."""
    ecfg = dataclasses.replace(cfg.export, language="en")
    extra = table.assign(
        predicted_value_p10=1.0,
        predicted_value_p90=9.0,
        expected_next_purchase_date="2026-02-01",
        next_purchase_source="bgnbd",
        previous_value=5.0,
        something_new=7,
    )
    audit = [("Last period's grades", pd.DataFrame({"tier": ["A"], "kept_share": [0.5]}))]
    raw = workbook(
        export_table(extra, ecfg, None),
        summary,
        {"available": False},
        pd.DataFrame({"target": ["churn"]}),
        cfg.tiering.actions,
        ecfg,
        sheets={"audit": audit},
    )
    book = openpyxl.load_workbook(io.BytesIO(raw))
    header = [c.value for c in sheet(book, "customers")[1]]
    order = [
        "Predicted value (next period)",
        "Predicted value: range, low end",
        "Predicted value: range, high end",
    ]
    assert [header.index(h) for h in order] == sorted(header.index(h) for h in order)
    expected = "Expected next purchase (around; blank: none expected within the churn window)"
    assert header.index(expected) < header.index("Predicted value (next period)")
    assert header[-1] == "something_new"  # unknown columns follow, never dropped
    calls = [c.value for c in book.worksheets[0][2]]
    assert expected in calls  # the header says what a blank date means
    assert [c.value for c in sheet(book, "audit")[1]] == ["Last period's grades", None]
    assert [c.value for c in sheet(book, "forecast")["A"]] == [
        "No forecast in this run (the models were not trained)."
    ]
