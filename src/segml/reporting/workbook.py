"""The workbook writer: an Excel file for the people who act on it.

Sheets in a fixed order (`SHEETS`): the call list first, then the summary and the customers; a
sheet with nothing this run says so in one line, so the order never changes. Everything reads as
words in the export language: headers and codes (statuses, bands, levels, strategies, scorers)
from `export.headers`, yes/no as words, money in `export.money_format`; reasons and actions wrap.
Pages print landscape on A4 with the header row repeated: a sheet that fits one page wide at a
readable scale (at least `MIN_PRINT_SCALE` %) is fitted to it, a wider one prints at that scale
across pages with the customer column repeated. The same data gives the same bytes (a fixed
document date).
"""

from __future__ import annotations

import datetime
import io as _bytes_io
import math
import re
import unicodedata

import numpy as np
import pandas as pd
import xlsxwriter

from segml.config import ExportConfig
from segml.data import schema as s
from segml.reporting.call_list import CallList, call_list, last_purchase_dates
from segml.reporting.table import one_language
from segml.reporting.text import Words, move_reason

# sheet keys in workbook order; their names come from `export.headers` (`sheet_<key>`)
SHEETS = (
    "call_list",
    "summary",
    "customers",
    "movement",
    "audit",
    "forecast",
    "lifecycle",
    "rfm",
    "actions",
)
MONEY = {
    "current_value",
    "predicted_value",
    "predicted_value_p10",
    "predicted_value_p90",
    "previous_predicted_value",
    "revenue",
    "predicted_value_total",
    "realized_value_total",
    "upside",
    "monetary_total",
    "value",
    "value_at_stake",
    "mean_predicted_value",
    "previous_value",
    "mean_current_value",
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
# Columns whose values are codes, shown as their words from export.headers.
CODES = {
    "target",
    "scorer",
    "tier_change",
    "lifecycle_status",
    "policy",
    "tier_policy",
    "churn_band",
    "value_level",
    "potential_level",
    "vp_strategy",
    "next_purchase_source",
}
# Codes named under a prefix in export.headers: "upside" is also a column name, and "low" / "high"
# name the audit's band columns
CODE_PREFIX = {
    "target": "target_",
    "churn_band": "band_",
    "value_level": "level_",
    "potential_level": "level_",
}
# Columns holding a tier, shown by the tier's name (pyramid and value x potential tiers are codes).
TIERS = {"tier", "previous_tier", "tier_pyramid", "previous", "current", "grade_key"}
# Codes whose names are columns of their own (`<stem>_zh`/`_en`): not on the people's sheets.
NAMED_CODES = {
    "lifecycle_status": "lifecycle",
    "rfm_segment": "rfm_segment",
    "persona": "persona",
    "vp_cell": "vp_cell",
}
# Long text that wraps in a wide column (reasons and notes) or a narrower one (actions).
WRAPPED = re.compile(r"((churn|value)_reasons|status_reason|note|why)(_en|_zh|_both)?")
WRAPPED_NARROW = re.compile(r"(lifecycle_)?action(_en|_zh|_both)")
# Names in both languages shown one above the other (teams).
STACKED = re.compile(r"(lifecycle_)?action_team_both|team_both")
# The customers sheet in the order a team reads it: who, tier, lifecycle, action, team, value,
# value at stake, reasons, then the rest; columns a run lacks are skipped, columns not listed
# (e.g. a new one) follow in table order.
CUSTOMER_COLUMNS = [
    s.CUSTOMER_ID,
    "tier",
    "lifecycle_zh",
    "lifecycle_en",
    "action_zh",
    "action_en",
    "action_team_zh",
    "action_team_en",
    "lifecycle_action_zh",
    "lifecycle_action_en",
    "lifecycle_action_team_zh",
    "lifecycle_action_team_en",
    "current_value",
    "value_at_stake",
    "churn_band",
    "churn_probability",
    "churn_reasons_zh",
    "churn_reasons_en",
    "value_reasons_zh",
    "value_reasons_en",
    "last_purchase_date",
    "expected_next_purchase_date",
    "next_purchase_source",
    "predicted_value",
    "predicted_value_p10",
    "predicted_value_p90",
    "upside",
    "previous_tier",
    "tier_change",
    "previous_value",
    "tier_abc",
    "tier_pyramid",
    "vp_cell_zh",
    "vp_cell_en",
    "vp_strategy",
    "value_level",
    "potential_level",
    "rfm_segment_zh",
    "rfm_segment_en",
    "rfm_code",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "persona_zh",
    "persona_en",
    "persona_adjusted",
    "segment",
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
    "status_reason",
    "tier_policy",
    "as_of",
]
# Model-quality columns people do not need (kept in metrics/ and MLflow).
TECHNICAL = {"best_iteration"}
# Document date when the table has no as_of: a fixed date keeps the bytes identical between runs.
FIXED_DATE = "2000-01-01"
HEADER_FILL = "#DDEBF7"
# Printing: A4 landscape is about 148 character cells wide at 100 % (narrow margins).
PAGE_WIDTH = 148
MIN_PRINT_SCALE = 75
TEXT_WIDTH = 50  # a wrapped column's width in character cells
NARROW_WIDTH = 26
HEADER_WIDTH = 10  # a header wider than this wraps, rather than widening its column
LINE_HEIGHT = 15  # points per line of text


def label(key: str, cfg: ExportConfig) -> str:
    """A column name or a known value (metric, scorer, model, status) in the export language;
    `both` gives "中文 English". Unknown keys are returned as they are; `<stem>_both` (a column
    holding both languages) is named by `<stem>_zh`'s Chinese and `<stem>_en`'s English name."""
    if key.endswith("_both") and cfg.language == "both":
        stem = key.removesuffix("_both")
        zh = cfg.headers.get(f"{stem}_zh", {}).get("zh")
        en = cfg.headers.get(f"{stem}_en", {}).get("en")
        return f"{zh} {en}" if zh and en else stem.replace("_", " ")
    names = cfg.headers.get(key, {})
    if cfg.language == "both":
        zh, en = names.get("zh"), names.get("en")
        return f"{zh} {en}" if zh and en else str(key)
    return names.get(cfg.language, str(key))


def word(code, cfg: ExportConfig) -> str:
    """A code in words: its `export.headers` name, else the code with spaces for underscores."""
    if cfg.headers.get(code):
        return label(code, cfg)
    return str(code).replace("_", " ")


def sheet_name(key: str, cfg: ExportConfig) -> str:
    """A sheet's name in the export language (Excel allows 31 characters, none of []:*?/\\)."""
    return re.sub(r"[\[\]:*?/\\]", " ", label(f"sheet_{key}", cfg))[:31]


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


def _tier_words(table: pd.DataFrame, cfg: ExportConfig) -> dict:
    """Tier codes -> names: value x potential cells by their configured names, others by headers."""
    words = {}
    if "vp_cell" in table:
        for language in ("zh", "en") if cfg.language == "both" else (cfg.language,):
            column = f"vp_cell_{language}"
            if column in table:
                pairs = table[["vp_cell", column]].dropna().drop_duplicates("vp_cell")
                for code, name in zip(pairs["vp_cell"], pairs[column]):
                    words[code] = f"{words[code]} {name}" if code in words else name
    return words


def for_people(frame: pd.DataFrame, cfg: ExportConfig, tiers: dict | None = None) -> pd.DataFrame:
    """What people read: codes as words, yes/no as words, no code whose name has its own column,
    no technical column; numbers rounded as shown."""
    tiers = tiers or {}
    drop = [c for c, stem in NAMED_CODES.items() if c in frame and _has_names(frame, stem)]
    drop += [c for c in TECHNICAL if c in frame]
    out = frame.drop(columns=drop)
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values) or (
            values.dtype == object and values.map(_is_bool).any()
        ):  # a yes/no column, also one with blanks (object dtype)
            yes, no = label("yes", cfg), label("no", cfg)
            out[column] = values.map(lambda v: (yes if v else no) if _is_bool(v) else v)
        elif column in CODES | TIERS:
            prefix = CODE_PREFIX.get(column, "")
            out[column] = values.map(
                lambda v, p=prefix: (
                    tiers.get(v) or word(f"{p}{v}", cfg) if isinstance(v, str) else v
                )
            )
    return _rounded(out)


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def both_languages(frame: pd.DataFrame) -> pd.DataFrame:
    """Each `<stem>_zh` / `<stem>_en` pair as one column `<stem>_both` where the pair was, the
    Chinese above the English for long text (reasons, actions), beside it for names: half the
    columns, so a sheet stays one readable page wide."""
    out = {}
    for column in frame.columns:
        stem, _, language = column.rpartition("_")
        pair = f"{stem}_zh", f"{stem}_en"
        if language in ("zh", "en") and all(c in frame for c in pair):
            if f"{stem}_both" not in out:
                zh, en = (frame[c].astype(object) for c in pair)
                long = any(w.fullmatch(f"{stem}_both") for w in (WRAPPED, WRAPPED_NARROW, STACKED))
                joined = [
                    None
                    if pd.isna(a) and pd.isna(b)
                    else (
                        b
                        if pd.isna(a) or a == b
                        else a
                        if pd.isna(b)
                        else f"{a}{chr(10) if long else ' '}{b}"
                    )
                    for a, b in zip(zh, en)
                ]
                out[f"{stem}_both"] = pd.Series(joined, index=frame.index, dtype=object)
        else:
            out[column] = frame[column]
    return pd.DataFrame(out, index=frame.index)


def _has_names(frame: pd.DataFrame, stem: str) -> bool:
    return f"{stem}_zh" in frame or f"{stem}_en" in frame


def _number_format(column: str, values: pd.Series, cfg: ExportConfig) -> str | None:
    if column in MONEY:
        return cfg.money_format
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
    """A column as cell values: numbers and text; dates and times as ISO text; missing or
    infinite is None (a blank cell)."""
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
        # key -> [worksheet, {column: width}, (header row, columns kept in view) of its main table]
        self.sheets: dict[str, list] = {}
        self.header = self.book.add_format(
            {"bold": True, "bg_color": HEADER_FILL, "text_wrap": True, "valign": "top"}
        )
        self.title = self.book.add_format({"bold": True, "font_size": 12})
        self.wide_title = self.book.add_format(
            {"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"}
        )
        self.formats: dict[tuple, object] = {}

    def _format(self, number: str | None, wrap: bool):
        key = (number, wrap)
        if key not in self.formats:
            spec = {"valign": "top"}
            if number:
                spec["num_format"] = number
            if wrap:
                spec["text_wrap"] = True
            self.formats[key] = self.book.add_format(spec)
        return self.formats[key]

    def sheet(self, key: str) -> list:
        if key not in self.sheets:
            self.sheets[key] = [self.book.add_worksheet(sheet_name(key, self.cfg)), {}, None]
        return self.sheets[key]

    def block(
        self, frame: pd.DataFrame, key: str, start_row: int = 0, title=None, main: bool = False
    ) -> int:
        """A formatted block (`frame` as people read it): bold header, number formats, widths;
        the `main` block of a sheet also gets a frozen header and customer column, a filter and
        its header row repeated on every printed page. Returns the row for the next block."""
        entry = self.sheet(key)
        sheet, widths = entry[0], entry[1]
        title_row = start_row if title else None
        if title:
            start_row += 1
        lines = [1] * (len(frame) + 1)  # text lines per row (the header's first), for its height
        for j, column in enumerate(frame.columns):
            head = label(column, self.cfg)
            sheet.write_string(start_row, j, head, self.header)
            wrap = _wrap_width(str(column))
            fmt = self._format(_number_format(column, frame[column], self.cfg), bool(wrap))
            cells = _cells(frame[column])
            for i, value in enumerate(cells, start=start_row + 1):
                sheet.write(i, j, value, fmt)
            sample = [
                max(
                    display_width(part)
                    for part in (f"{v:,.2f}" if isinstance(v, float) else str(v)).split("\n")
                )
                for v in frame[column].head(200)
            ]
            width = wrap or min(max(8, max([0, *sample]) + 2), 40)
            width = max(width, min(display_width(head) + 2, HEADER_WIDTH))
            widths[j] = max(widths.get(j, 0), width)
            lines[0] = max(lines[0], _lines(head, width))
            if wrap:
                for i, value in enumerate(cells, start=1):
                    lines[i] = max(lines[i], _lines(value, width))
        for i, n in enumerate(lines):
            if n > 1:  # Excel and LibreOffice keep a row one line high unless told
                sheet.set_row(start_row + i, n * LINE_HEIGHT)
        if title_row is not None:
            self._title(sheet, title_row, title, [widths[j] for j in range(len(frame.columns))])
        if main:
            # the rank and customer columns stay in view (and print on every page)
            first = list(frame.columns[:2])
            ids = first.index(s.CUSTOMER_ID) + 1 if s.CUSTOMER_ID in first else 0
            entry[2] = (start_row, ids)
            sheet.freeze_panes(start_row + 1, ids)
            sheet.autofilter(start_row, 0, start_row + len(frame), max(len(frame.columns), 1) - 1)
        return start_row + len(frame) + 3

    def _title(self, sheet, row: int, title: str, widths: list[float]) -> None:
        """A title over the block: wrapped across its columns when it is longer than they are
        wide (text running past the table would make a page fitted to it print smaller)."""
        span = sum(widths)
        if len(widths) < 2 or display_width(title) <= span:
            sheet.write_string(row, 0, title, self.title)
            return
        sheet.merge_range(row, 0, row, len(widths) - 1, title, self.wide_title)
        sheet.set_row(row, _lines(title, int(span)) * LINE_HEIGHT * 1.1)

    def note(self, key: str, text: str, start_row: int = 0) -> int:
        """One line of text (a sheet with nothing this run says so)."""
        sheet, widths = self.sheet(key)[:2]
        sheet.write_string(start_row, 0, text)
        widths[0] = max(widths.get(0, 0), 12)
        return start_row + 2

    def close(self, title: str, date: str) -> bytes:
        """The workbook's bytes; the document date is `date`, so the same data gives the same bytes
        (xlsxwriter's zip entries carry a fixed time)."""
        for sheet, widths, header in self.sheets.values():
            for j, width in widths.items():
                sheet.set_column(j, j, width)
            _print_setup(sheet, sum(widths.values()), header)
        created = datetime.datetime.fromisoformat(date)
        self.book.set_properties({"title": title, "author": "segml", "created": created})
        self.book.close()
        return self.buffer.getvalue()


def _wrap_width(column: str) -> int:
    """The width of a wrapped column in character cells (0: not wrapped)."""
    if WRAPPED.fullmatch(column):
        return TEXT_WIDTH
    return NARROW_WIDTH if WRAPPED_NARROW.fullmatch(column) else 0


def _lines(value, width: int) -> int:
    """How many lines a text takes in a column `width` cells wide (wide characters count twice)."""
    if not isinstance(value, str):
        return 1
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in value.split("\n"))


def _print_setup(sheet, width: float, header: tuple[int, int] | None) -> None:
    """A4 landscape, narrow margins, page numbers; one page wide if that keeps the scale readable,
    else readable across pages with the first column repeated; the header row on every page."""
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer("&C&P / &N")
    if 100 * PAGE_WIDTH / max(width, 1) >= MIN_PRINT_SCALE:
        sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    else:
        sheet.set_print_scale(MIN_PRINT_SCALE)
        sheet.repeat_columns(0, max(header[1] - 1, 0) if header else 0)
    if header is not None:
        sheet.repeat_rows(header[0])


def _one_note(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The model-quality table's `note_en`/`note_zh` (why a model was not trained) as one `note`
    column in the export language ("中文 / English" for both)."""
    if frame is None or "note_en" not in frame:
        return frame
    en, zh = frame["note_en"], frame["note_zh"]
    note = en if language == "en" else zh if language == "zh" else zh.str.cat(en, sep=" / ")
    return frame.drop(columns=["note_en", "note_zh"]).assign(note=note)


def _with_content(blocks: list[tuple[str | None, pd.DataFrame]]) -> list:
    """Blocks that hold something: a lone `no_forecast` note (nothing forecast) is none, so the
    sheet says so in one line like every empty sheet."""
    return [
        (title, frame)
        for title, frame in blocks
        if not (list(frame.columns) == ["note"] and frame["note"].isin(["no_forecast"]).all())
    ]


def actions_table(actions: dict, teams: dict | None = None) -> pd.DataFrame:
    """Every configured action with its owning team in both languages."""
    teams = teams or {}
    rows = [
        {
            "policy": policy,
            "grade_key": grade,
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
    """The customers sheet's rows: everyone, or the `export.workbook_customers` with the highest
    current value (ties by id) and a note saying so. People read a workbook; systems read the CSV."""
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


def customer_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The customers sheet's columns in reading order (`CUSTOMER_COLUMNS`, then any others), with
    the last purchase date; a policy's own tier column is left out when it is the headline tier."""
    out = table.assign(last_purchase_date=last_purchase_dates(table))
    for column in ("tier_abc", "tier_pyramid"):
        if column in out and "tier" in out and out[column].equals(out["tier"]):
            out = out.drop(columns=column)
    known = [c for c in CUSTOMER_COLUMNS if c in out]
    return out[known + [c for c in out.columns if c not in known]]


def _call_list_title(calls: CallList, date: str, cfg: ExportConfig) -> str:
    text = label("call_list_title", cfg).format(
        as_of=date, listed=f"{len(calls.rows):,}", at_risk=f"{calls.at_risk:,}"
    )
    if calls.cap and calls.at_risk > calls.cap:
        text += " " + label("call_list_capped", cfg).format(cap=f"{calls.cap:,}")
    return text


def _quality_blocks(metrics: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Model quality per model: only the model's own measures (no blank columns)."""
    if metrics is None or metrics.empty or "target" not in metrics:
        return [("", metrics)] if metrics is not None and not metrics.empty else []
    blocks = []
    for target, part in metrics.groupby("target", sort=True):
        blocks.append((target, part.dropna(axis=1, how="all").reset_index(drop=True)))
    return blocks


def _capped(frame: pd.DataFrame, cfg: ExportConfig) -> tuple[pd.DataFrame, str | None]:
    """At most `export.workbook_customers` rows of a customer list (the first, in its order), and a
    note saying how many there are."""
    limit = cfg.workbook_customers
    if not limit or len(frame) <= limit:
        return frame, None
    text = label("workbook_list_note", cfg).format(shown=f"{limit:,}", total=f"{len(frame):,}")
    return frame.head(limit), text


def movement_sheet(book: _Book, movement: dict, table: pd.DataFrame, people) -> None:
    """Movement since the previous period (named): the counts, the transition matrix, upgrades
    and downgrades with the value before and now and why, then new and gone customers."""
    key, cfg = "movement", book.cfg
    if not movement.get("available"):
        book.note(key, label("no_previous_run", cfg))
        return
    counts = movement.get("counts") or {}
    figures = {
        "compared_with": [movement.get("compared_with") or ""],
        "kept_share": [movement["kept_share"]],
        "changed_share": [counts.get("changed_share", 1 - movement["kept_share"])],
        **{
            name: [counts.get(name, len(movement.get(part, ())))]
            for name, part in (
                ("upgrades", "upgrades"),
                ("downgrades", "downgrades"),
                ("new_customers", "new"),
                ("gone_customers", "gone"),
            )
        },
    }
    row = book.block(people(pd.DataFrame(figures)), key)
    row = book.block(people(movement["matrix"]), key, row, label("title_transitions", cfg))
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
        row = book.block(people(frame), key, row, label(title, cfg))
        if note:
            row = book.note(key, note, row - 2)


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


def audit_sheet(book: _Book, audit: dict | None, people) -> None:
    """Did earlier periods' grades come true? A line per audited period, then each period by tier,
    by lifecycle status and per churn-probability band, then stability between periods."""
    key, cfg = "audit", book.cfg
    periods = (audit or {}).get("periods") or []
    steps = (audit or {}).get("stability") or []
    if not periods and not steps:
        book.note(key, label("no_audit_yet", cfg))
        return
    row = 0
    if periods:
        lines = pd.DataFrame([{c: p.get(c) for c in PERIOD_COLUMNS} for p in reversed(periods)])
        row = book.block(people(lines), key, row)
    else:
        row = book.note(key, label("no_audit_yet", cfg), row)
    for period in reversed(periods):
        at = period["as_of"]
        for part, column, title in (
            ("by_tier", "tier", "title_audit_tiers"),
            ("by_lifecycle", "lifecycle_status", "title_audit_lifecycle"),
        ):
            if period.get(part):
                frame = _groups(period[part], column)
                row = book.block(people(frame), key, row, label(title, cfg).format(as_of=at))
        if period.get("calibration"):
            frame = pd.DataFrame(period["calibration"])
            title = label("title_audit_bands", cfg).format(as_of=at)
            row = book.block(people(frame), key, row, title)
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
        row = book.block(people(psi), key, row, label("title_audit_psi", cfg))
        latest = steps[-1]
        if latest.get("transitions"):
            matrix = pd.DataFrame.from_dict(latest["transitions"], orient="index")
            matrix = matrix.rename_axis("previous").reset_index()
            title = label("title_audit_transitions", cfg).format(
                start=latest["from"], end=latest["to"]
            )
            book.block(people(matrix), key, row, title)


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
    sheets: dict[str, list[tuple[str | None, pd.DataFrame]]] | None = None,
) -> bytes:
    """The workbook, sheets in `SHEETS` order (notes/phase2.md): the call list, summary (with the
    models in use, `models_note`), customers, movement, audit (`audit`: metrics/audit_details),
    forecast (`forecast`: its blocks, `forecast_view.workbook_blocks`), lifecycle, RFM, actions.
    `sheets` may give any sheet's blocks (title or title key, frame) instead; a sheet with
    nothing this run says so in one line."""
    breakdowns = (
        breakdowns
        if breakdowns is not None
        else {
            "lifecycle": breakdown(table, "lifecycle_status", LIFECYCLE_ORDER),
            "rfm": breakdown(table, "rfm_segment"),
        }
    )
    sheets = {"forecast": _with_content(forecast or []), **(sheets or {})}
    date = _document_date(table)
    tiers = _tier_words(table, cfg)
    book = _Book(cfg)

    def people(frame: pd.DataFrame) -> pd.DataFrame:
        shown = for_people(one_language(frame, cfg.language), cfg, tiers)
        return both_languages(shown) if cfg.language == "both" else shown

    calls = call_list(table, cfg.call_list_customers)
    book.block(people(calls.rows), "call_list", 0, _call_list_title(calls, date, cfg), main=True)

    row = book.block(people(summary), "summary", 0, label("title_tiers", cfg))
    for target, frame in _quality_blocks(_one_note(metrics, cfg.language)):
        title = label("title_model_quality", cfg) + (
            f" · {word(f'target_{target}', cfg)}" if target else ""
        )
        row = book.block(people(frame), "summary", row, title)
    if models_note:
        text = Words(cfg).pick(models_note, " / ")
        row = book.block(pd.DataFrame({"models_used": [text]}), "summary", row)
    shown, note = sheet_customers(table, cfg)
    notes = [label("value_at_stake_note", cfg), *([note] if note else [])]
    book.block(pd.DataFrame({"note": notes}), "summary", row)

    book.block(people(customer_sheet(shown)), "customers", main=True)

    if "movement" in sheets:
        _blocks(book, "movement", sheets["movement"], people)
    else:
        movement_sheet(book, movement, table, people)
    if "audit" in sheets:
        _blocks(book, "audit", sheets["audit"], people)
    else:
        audit_sheet(book, audit, people)
    _blocks(book, "forecast", sheets["forecast"], people)
    for key in ("lifecycle", "rfm"):
        frame = breakdowns.get(key, pd.DataFrame())
        if len(frame):
            book.block(people(frame), key, main=True)
        else:
            book.note(key, label(f"no_{key}", cfg))
    book.block(people(actions_table(actions, teams)), "actions", main=True)
    return book.close(label("title_workbook", cfg), date)


def _blocks(book: _Book, key: str, blocks: list, people) -> None:
    """A sheet of (title or title key, frame) blocks; none: the sheet's `no_<key>` line."""
    row = 0
    for title, frame in blocks:
        title = label(title, book.cfg) if title and book.cfg.headers.get(title) else title
        row = book.block(people(frame), key, row, title)
    if not blocks:
        empty = {"movement": "no_previous_run", "audit": "no_audit_yet"}.get(key, f"no_{key}")
        book.note(key, label(empty, book.cfg))
