"""The workbook writer: an Excel file for business users.

The workbook is for people: localised headers and labels (`export.headers`), number formats,
columns wide enough for Chinese headers, pages that print landscape at one page wide with the
header row repeated, and the same bytes for the same data (a fixed document date).
"""

from __future__ import annotations

import datetime
import io as _bytes_io
import math
import re
import unicodedata

import pandas as pd
import xlsxwriter

from segml.config import ExportConfig
from segml.data import schema as s
from segml.reporting.table import one_language
from segml.reporting.text import Words, move_reason

MONEY = {
    "current_value",
    "predicted_value",
    "upside",
    "monetary_total",
    "value",
    "mean_predicted_value",
    "previous_value",
    "mean_current_value",
    "predicted_value_p10",
    "predicted_value_p90",
    "previous_predicted_value",
    "revenue",
    "predicted_value_total",
    "realized_value_total",
}
PERCENT = {
    "churn_probability",
    "customer_share",
    "value_share",
    "mean_churn_probability",
    "kept_share",
    "coverage",
    "coverage_floor",
    "p10_zero_share",
    "date_share",
    "date_right",
    "none_right",
    "changed_share",
    "repurchase_rate",
    "revenue_share",
    "churn_predicted",
    "churn_realized",
    "matched_share",
    "predicted",
    "realized",
    "low",
    "high",
}
METRICS = {
    "roc_auc",
    "pr_auc",
    "brier",
    "lift_top10",
    "normalized_gini",
    "spearman",
    "top20_capture",
    "mae",
    "mean_rfm_r",
    "mean_rfm_f",
    "mean_rfm_m",
    "total_ratio",
    "total_ratio_calibrated",
    "total_ratio_low",
    "total_ratio_mid",
    "total_ratio_high",
    "total_ratio_low_calibrated",
    "total_ratio_mid_calibrated",
    "total_ratio_high_calibrated",
    "churn_roc_auc",
    "value_gini",
    "psi",
}
# Values translated in the workbook (model names, scorers, lifecycle and tier-change keys).
LABELLED_VALUES = {
    "target",
    "scorer",
    "tier_change",
    "previous",
    "current",
    "lifecycle_status",
    "policy",
    "next_purchase_source",
    "note",
    "tier_policy",
}
# Document date when the table has no as_of: a fixed date keeps the bytes identical between runs.
FIXED_DATE = "2000-01-01"
HEADER_FILL = "#DDEBF7"


def label(key: str, cfg: ExportConfig) -> str:
    """A column name or a known value (metric, scorer, model, status) in the export language;
    `both` gives "中文 English". Unknown keys are returned as they are."""
    names = cfg.headers.get(key, {})
    if cfg.language == "both":
        zh, en = names.get("zh"), names.get("en")
        return f"{zh} {en}" if zh and en else str(key)
    return names.get(cfg.language, str(key))


def display_width(text: str) -> int:
    """Width in Excel character cells: East Asian wide and full-width characters count as 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells hold what people see: money to the fen, shares and metrics to 3 decimals."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_float_dtype(out[column]):
            continue
        digits = 2 if column in MONEY else 3
        out[column] = out[column].round(digits)
    return out


def _labelled_values(frame: pd.DataFrame, cfg: ExportConfig) -> pd.DataFrame:
    out = frame.copy()
    for column in LABELLED_VALUES & set(out.columns):
        prefix = "target_" if column == "target" else ""  # "upside" is also a column name
        out[column] = out[column].map(
            lambda v, p=prefix: label(f"{p}{v}", cfg) if isinstance(v, str) else v
        )
    return out


def _number_format(column: str, values: pd.Series) -> str | None:
    if column in MONEY:
        return "#,##0.00"
    if column in PERCENT:
        return "0.0%"
    if column in METRICS:
        return "0.000"
    if pd.api.types.is_integer_dtype(values):
        return "#,##0"
    if pd.api.types.is_float_dtype(values):
        return "#,##0.##"
    return None


def _cells(values: pd.Series) -> list:
    """A column as cell values: numbers, text and booleans; dates and times as ISO text; missing
    or infinite is None (a blank cell)."""
    cells = []
    for value in values.astype(object):
        if pd.isna(value) or (isinstance(value, float) and math.isinf(value)):
            value = None
        elif isinstance(value, datetime.datetime):  # pandas' Timestamp too
            value = value.isoformat(sep=" ")
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        cells.append(value)
    return cells


class _Book:
    """The workbook, written block by block with xlsxwriter (several times faster than openpyxl
    at ten thousand rows): formats made once, each sheet's column widths kept until the end.
    Text is written as text, never as a formula or a link, whatever it starts with."""

    def __init__(self, cfg: ExportConfig):
        self.buffer = _bytes_io.BytesIO()
        self.book = xlsxwriter.Workbook(
            self.buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.cfg = cfg
        self.sheets: dict[str, tuple] = {}  # name -> (worksheet, {column: width})
        self.header = self.book.add_format(
            {"bold": True, "bg_color": HEADER_FILL, "text_wrap": True, "valign": "top"}
        )
        self.title = self.book.add_format({"bold": True})
        self.numbers: dict[str, object] = {}

    def _number(self, fmt: str | None):
        if fmt and fmt not in self.numbers:
            self.numbers[fmt] = self.book.add_format({"num_format": fmt})
        return self.numbers.get(fmt)

    def block(self, frame: pd.DataFrame, name: str, start_row: int = 0, title=None) -> int:
        """A formatted block: bold header, number formats, widths; the sheet's first block also
        gets a frozen header, a filter and print setup. Returns the row for the next block."""
        if name not in self.sheets:
            self.sheets[name] = (self.book.add_worksheet(name), {})
        sheet, widths = self.sheets[name]
        if title:
            sheet.write_string(start_row, 0, title, self.title)
            start_row += 1
        shown = _rounded(_labelled_values(frame, self.cfg))
        for j, column in enumerate(frame.columns):
            head = label(column, self.cfg)
            sheet.write_string(start_row, j, head, self.header)
            fmt = self._number(_number_format(column, frame[column]))
            for i, value in enumerate(_cells(shown[column]), start=start_row + 1):
                sheet.write(i, j, value, fmt)
            sample = [
                display_width(f"{v:,.2f}" if isinstance(v, float) else str(v))
                for v in shown[column].head(200)
            ]
            width = max([display_width(head), *sample])
            widths[j] = max(widths.get(j, 0), min(max(10, width + 2), 60))
        if start_row == 0:
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, len(frame), max(len(frame.columns), 1) - 1)
            sheet.set_landscape()
            sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
            sheet.repeat_rows(0)
        return start_row + len(frame) + 3

    def close(self, title: str, date: str) -> bytes:
        """The workbook's bytes; the document date is `date`, so the same data gives the same bytes
        (xlsxwriter's zip entries carry a fixed time)."""
        for sheet, widths in self.sheets.values():
            for j, width in widths.items():
                sheet.set_column(j, j, width)
        created = datetime.datetime.fromisoformat(date)
        self.book.set_properties({"title": title, "author": "segml", "created": created})
        self.book.close()
        return self.buffer.getvalue()


def _one_note(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The model-quality table's `note_en`/`note_zh` (why a model was not trained) as one `note`
    column in the export language ("中文 / English" for both)."""
    if "note_en" not in frame:
        return frame
    en, zh = frame["note_en"], frame["note_zh"]
    note = en if language == "en" else zh if language == "zh" else zh.str.cat(en, sep=" / ")
    return frame.drop(columns=["note_en", "note_zh"]).assign(note=note)


def actions_table(actions: dict, teams: dict | None = None) -> pd.DataFrame:
    """Every configured action with its owning team in both languages."""
    teams = teams or {}
    rows = [
        {
            "policy": policy,
            "grade": grade,
            "team_en": teams.get(a.get("team"), {}).get("en", a.get("team", "")),
            "team_zh": teams.get(a.get("team"), {}).get("zh", a.get("team", "")),
            "action_en": a.get("en", ""),
            "action_zh": a.get("zh", ""),
        }
        for policy, grades in actions.items()
        for grade, a in grades.items()
    ]
    return pd.DataFrame(rows)


def breakdown(table: pd.DataFrame, by: str, order: list[str] | None = None) -> pd.DataFrame:
    """Customers, value share and churn risk per group of `by` (e.g. lifecycle_status,
    rfm_segment), with the group's names (`<by>_en/_zh` or `<stem>_en/_zh` columns) and, for RFM,
    the mean scores. Groups in `order`, else best mean RFM score first."""
    if by not in table:
        return pd.DataFrame()
    stem = by.removesuffix("_status")
    total = table["current_value"].clip(lower=0).sum()
    grouped = table.groupby(by, sort=True)
    out = pd.DataFrame({"customers": grouped.size()})
    for language in ("zh", "en"):
        column = f"{stem}_{language}"
        if column in table:
            out[column] = grouped[column].first()
    out["customer_share"] = out["customers"] / max(len(table), 1)
    out["current_value"] = grouped["current_value"].sum()
    out["value_share"] = (
        grouped["current_value"].apply(lambda v: v.clip(lower=0).sum()) / total
        if total > 0
        else 0.0
    )
    out["mean_churn_probability"] = grouped["churn_probability"].mean()
    out["mean_predicted_value"] = grouped["predicted_value"].mean()
    for score in ("rfm_r", "rfm_f", "rfm_m"):
        if by == "rfm_segment" and score in table:
            out[f"mean_{score}"] = grouped[score].mean()
    if by == "lifecycle_status":
        for column in (
            "lifecycle_action_team_zh",
            "lifecycle_action_team_en",
            "lifecycle_action_zh",
            "lifecycle_action_en",
        ):
            if column in table:
                out[column] = grouped[column].first()
    if order is None and by == "rfm_segment" and "rfm_r" in table:
        order = list(
            (grouped[["rfm_r", "rfm_f", "rfm_m"]].mean().sum(axis=1) * -1)
            .reset_index()
            .sort_values([0, by])[by]
        )
    if order is not None:
        out = out.reindex([k for k in order if k in out.index])
    out["customers"] = out["customers"].astype("int64")
    names = [
        c
        for c in out.columns
        if c.startswith(f"{stem}_")
        and c.endswith(("_zh", "_en"))
        and not c.startswith(f"{stem}_action")
    ]
    out = out[names + [c for c in out.columns if c not in names]]  # the group's name first
    return out.rename_axis(by).reset_index().drop(columns=[by])


LIFECYCLE_ORDER = ["new", "active", "at_risk", "lost"]


def _document_date(table: pd.DataFrame) -> str:
    if (
        "as_of" in table
        and len(table)
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(table["as_of"].iloc[0]))
    ):
        return str(table["as_of"].iloc[0])
    return FIXED_DATE


def sheet_customers(table: pd.DataFrame, cfg: ExportConfig) -> tuple[pd.DataFrame, str | None]:
    """The tier sheet's rows: everyone, or the `export.workbook_customers` with the highest current
    value (ties by id) and a note saying so. People read a workbook; systems read the CSV."""
    limit = cfg.workbook_customers
    if not limit or len(table) <= limit:
        return table, None
    order = [c for c in ("current_value", s.CUSTOMER_ID) if c in table]
    ranked = (  # sort the keys alone, then take the rows: a million rows of 50 columns sort slowly
        table[order]
        .reset_index(drop=True)
        .sort_values(
            order,
            ascending=[c != "current_value" for c in order],
            kind="stable",
            na_position="last",
        )
    )
    shown = table.iloc[ranked.index[:limit]]
    text = label("workbook_rows_note", cfg).format(shown=f"{limit:,}", total=f"{len(table):,}")
    return shown.reset_index(drop=True), text


def _capped(frame: pd.DataFrame, cfg: ExportConfig) -> tuple[pd.DataFrame, str | None]:
    """At most `export.workbook_customers` rows of a customer list (the first, in its order), and a
    note saying how many there are."""
    limit = cfg.workbook_customers
    if not limit or len(frame) <= limit:
        return frame, None
    text = label("workbook_list_note", cfg).format(shown=f"{limit:,}", total=f"{len(frame):,}")
    return frame.head(limit), text


def movement_sheet(book: _Book, movement: dict, table: pd.DataFrame, cfg: ExportConfig) -> None:
    """Movement since the previous period (named): the counts, the transition matrix, upgrades
    and downgrades with the value before and now and why, then new and gone customers."""
    name = "movement"
    if not movement.get("available"):
        book.block(pd.DataFrame({"note": [label("no_previous_run", cfg)]}), name)
        return
    counts = movement.get("counts") or {}
    figures = {
        "compared_with": [movement.get("compared_with") or ""],
        "kept_share": [movement["kept_share"]],
        "changed_share": [counts.get("changed_share", 1 - movement["kept_share"])],
        **{
            key: [counts.get(key, len(movement.get(part, ())))]
            for key, part in (
                ("upgrades", "upgrades"),
                ("downgrades", "downgrades"),
                ("new_customers", "new"),
                ("gone_customers", "gone"),
            )
        },
    }
    row = book.block(pd.DataFrame(figures), name)
    row = book.block(movement["matrix"], name, row, label("title_transitions", cfg))
    w = Words(cfg)
    potential = bool(table.get("tier_policy", pd.Series(dtype=object)).eq("value_potential").any())
    for part, title in (
        ("upgrades", "title_upgrades"),
        ("downgrades", "title_downgrades"),
        ("new", "title_new_customers"),
        ("gone", "title_gone_customers"),
    ):
        frame = movement.get(part)
        if frame is None:
            continue
        if part in ("upgrades", "downgrades"):
            frame = frame.assign(
                why=[move_reason(r, w, potential) for r in frame.to_dict("records")]
            )
        frame, note = _capped(frame, cfg)
        row = book.block(frame, name, row, label(title, cfg))
        if note:
            row = book.block(pd.DataFrame({"note": [note]}), name, row - 2)


def _groups(groups: dict, key: str) -> pd.DataFrame:
    return pd.DataFrame([{key: k, **{c: v for c, v in g.items()}} for k, g in groups.items()])


PERIOD_COLUMNS = [
    "as_of",
    "horizon_days",
    "elapsed_days",
    "complete",
    "customers",
    "repurchase_rate",
    "churn_roc_auc",
    "churn_predicted",
    "churn_realized",
    "value_gini",
    "predicted_value_total",
    "realized_value_total",
    "matched_share",
]


def audit_sheet(book: _Book, audit: dict | None, cfg: ExportConfig) -> None:
    """Did earlier periods' grades come true? A line per audited period, then each period by tier,
    by lifecycle status and per churn-probability band, then stability between periods."""
    name = "audit"
    periods = (audit or {}).get("periods") or []
    steps = (audit or {}).get("stability") or []
    if not periods and not steps:
        book.block(pd.DataFrame({"note": [label("no_audit_yet", cfg)]}), name)
        return
    row = 0
    if periods:
        lines = pd.DataFrame([{c: p.get(c) for c in PERIOD_COLUMNS} for p in reversed(periods)])
        row = book.block(lines, name, row)
    else:
        row = book.block(pd.DataFrame({"note": [label("no_audit_yet", cfg)]}), name, row)
    for period in reversed(periods):
        at = period["as_of"]
        for part, key, title in (
            ("by_tier", "tier", "title_audit_tiers"),
            ("by_lifecycle", "lifecycle_status", "title_audit_lifecycle"),
        ):
            if period.get(part):
                frame = _groups(period[part], key)
                row = book.block(frame, name, row, label(title, cfg).format(as_of=at))
        if period.get("calibration"):
            frame = pd.DataFrame(period["calibration"])
            row = book.block(frame, name, row, label("title_audit_bands", cfg).format(as_of=at))
    if steps:
        psi = pd.DataFrame(
            [
                {
                    "from": st["from"],
                    "to": st["to"],
                    "changed_share": st.get("changed_share"),
                    **st.get("psi", {}),
                }
                for st in steps
            ]
        )
        row = book.block(psi, name, row, label("title_audit_psi", cfg))
        latest = steps[-1]
        if latest.get("transitions"):
            matrix = pd.DataFrame.from_dict(latest["transitions"], orient="index")
            matrix = matrix.rename_axis("previous").reset_index()
            title = label("title_audit_transitions", cfg).format(
                start=latest["from"], end=latest["to"]
            )
            book.block(matrix, name, row, title)


def workbook(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    movement: dict,
    metrics: pd.DataFrame,
    actions: dict,
    cfg: ExportConfig,
    breakdowns: dict[str, pd.DataFrame] | None = None,
    teams: dict | None = None,
    audit: dict | None = None,
    models_note: dict[str, str] | None = None,
    forecast: list[tuple[str | None, pd.DataFrame]] | None = None,
) -> bytes:
    """The workbook, sheets in the shared order (notes/phase2.md): summary, tiers, movement,
    audit, forecast (`forecast`: its blocks, `forecast_view.workbook_blocks`), lifecycle, RFM
    segments and actions."""
    breakdowns = (
        breakdowns
        if breakdowns is not None
        else {
            "lifecycle": breakdown(table, "lifecycle_status", LIFECYCLE_ORDER),
            "rfm": breakdown(table, "rfm_segment"),
        }
    )
    date = _document_date(table)
    full = table
    table, note = sheet_customers(table, cfg)
    book = _Book(cfg)
    row = book.block(summary, "summary")
    row = book.block(
        _one_note(metrics, cfg.language), "summary", row, label("title_model_quality", cfg)
    )
    if models_note:
        text = Words(cfg).pick(models_note, " / ")
        row = book.block(pd.DataFrame({"models_used": [text]}), "summary", row)
    if note:
        book.block(pd.DataFrame({"note": [note]}), "summary", row)
    book.block(table, "tiers")
    movement_sheet(book, movement, full, cfg)
    audit_sheet(book, audit, cfg)
    row = 0
    for title, frame in forecast or [(None, pd.DataFrame({"note": ["no_forecast"]}))]:
        row = book.block(frame, "forecast", row, label(title, cfg) if title else None)
    for name, frame in breakdowns.items():
        if len(frame):
            book.block(one_language(frame, cfg.language), name)
    book.block(one_language(actions_table(actions, teams), cfg.language), "actions")
    return book.close(label("title_workbook", cfg), date)
