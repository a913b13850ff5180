"""The people's view of a workbook sheet: what a cell shows and how a column reads.

Headers and codes (statuses, bands, levels, strategies, scorers, tiers) in words from
`export.headers`, yes/no as words, numbers rounded as shown and formatted (money in
`export.money_format`, shares as percentages, metrics to 3 decimals), both languages side by side or
one above the other, cells as Excel takes them, which columns wrap and how many lines a text takes,
and the customers sheet's column reading order (`CUSTOMER_COLUMNS`). The writer is `workbook`.
"""

from __future__ import annotations

import datetime
import math
import re
import unicodedata

import numpy as np
import pandas as pd

from segml.config import ExportConfig
from segml.data import schema as s
from segml.reporting.call_list import last_purchase_dates
from segml.reporting.contract_tenure import contract_words

MONEY = {
    "mae",  # the value model's mean absolute error, in ¥
    "current_value",
    "predicted_value",
    "predicted_value_p10",
    "predicted_value_p90",
    "previous_predicted_value",
    "revenue",
    "predicted_value_total",
    "realized_value_total",
    "predicted_recurring_total",  # the audit's value totals, for subscribers
    "realized_recurring_total",
    "predicted_value_total_parts",  # a both project's: recurring revenue and spend
    "realized_value_total_parts",
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
    "retention_rate",
    "stay_rate",
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
    "churn_kind": "churn_kind",
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
    "status_reason_zh",
    "status_reason_en",
    "tier_policy",
    "as_of",
]


# Model-quality columns people do not need (kept in metrics/ and MLflow).
TECHNICAL = {"best_iteration"}


TEXT_WIDTH = 50  # a wrapped column's width in character cells


NARROW_WIDTH = 26


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


def tier_words(table: pd.DataFrame, cfg: ExportConfig) -> dict:
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
        elif column == "contract_months":  # no contract is said, never a term of "0"
            out[column] = _contract_terms(values, cfg)
        elif column in CODES | TIERS:
            prefix = CODE_PREFIX.get(column, "")
            out[column] = values.map(
                lambda v, p=prefix: (
                    tiers.get(v) or word(f"{p}{v}", cfg) if isinstance(v, str) else v
                )
            )
    return _rounded(out)


def _contract_terms(values: pd.Series, cfg: ExportConfig) -> pd.Series:
    """Contract terms in months, month-to-month (0) in words as the contract x tenure table says
    it (`contract_words`); other terms stay numbers under the header's "(months)"."""
    zh, en = contract_words(0.0)
    month_to_month = {"zh": zh, "en": en}.get(cfg.language, f"{zh} {en}")
    return values.astype(object).where(values.ne(0), month_to_month)


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


def number_format(column: str, values: pd.Series, cfg: ExportConfig) -> str | None:
    if column in MONEY:
        return cfg.money_format
    if column in PERCENT:
        return "0.0%"
    if column in METRICS:
        return "0.000"
    if pd.api.types.is_integer_dtype(values):
        return "#,##0"
    if pd.api.types.is_float_dtype(values):  # never a bare dot ("58."), as "#,##0.##" shows
        return "#,##0" if _whole(values) else "#,##0.00"
    return None


def _whole(values: pd.Series) -> bool:
    """Every finite value a whole number (days, counts held as floats because of blanks)."""
    finite = values[np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))]
    return bool((finite == finite.round()).all())


def cell_values(values: pd.Series) -> list:
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


def wrap_width(column: str) -> int:
    """The width of a wrapped column in character cells (0: not wrapped)."""
    if WRAPPED.fullmatch(column):
        return TEXT_WIDTH
    return NARROW_WIDTH if WRAPPED_NARROW.fullmatch(column) else 0


def text_lines(value, width: int) -> int:
    """How many lines a text takes in a column `width` cells wide (wide characters count twice)."""
    if not isinstance(value, str):
        return 1
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil(display_width(part) / usable)) for part in value.split("\n"))


def customer_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The customers sheet's columns in reading order (`CUSTOMER_COLUMNS`, then any others), with
    the last purchase date; a policy's own tier column is left out when it is the headline tier."""
    out = table.assign(last_purchase_date=last_purchase_dates(table))
    if "recency_days" not in table:  # subscribers: no purchases
        out = out.drop(columns="last_purchase_date")
    for column in ("tier_abc", "tier_pyramid"):
        if column in out and "tier" in out and out[column].equals(out["tier"]):
            out = out.drop(columns=column)
    known = [c for c in CUSTOMER_COLUMNS if c in out]
    return out[known + [c for c in out.columns if c not in known]]
