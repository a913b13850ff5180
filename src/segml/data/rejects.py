"""Rejected rows: the reasons a row cannot be used, each row's first one, and the rows kept whole;
and the rows that are no transaction at all (skipped) or lie outside the period.

Nothing the user sent is silently dropped: a rejected row keeps every original column as text,
its 1-based row number in its file, the file and one reason (in words, from `REASONS`). Rows that
are not transactions (empty rows, total rows, notes under the data) and rows dated after `as_of`
are not errors: they are counted (`OUTSIDE`), never rejected and never a customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.parse import narrowed

REASONS = {
    "missing_customer_id": "missing customer id",
    "bad_timestamp": "unparseable timestamp",
    "bad_amount": "unparseable amount",
    "zero_amount": "zero amount",
    "absurd_amount": "absolute amount above data.max_abs_amount",
    "future": "dated after the end of the export (future-dated)",
    "duplicate": "exact duplicate of an earlier row",
    "duplicate_customer": "customer id listed twice in the customer table",
    "damaged_customer_id": "customer id in scientific notation (a spreadsheet turned it into a "
    "number and lost digits: export the id column as text)",
    "bad_valid_from": "unparseable validity date (data.customer_validity.valid_from)",
}
# A reason may name the setting that governs it, for whoever fixes the data (the rejected rows,
# the data-quality notes). The tier table's `status_reason_en`, which business users read, says it
# without: `in_plain_words`.
_SETTING_HINT = re.compile(r" \((?:add it to )?data\.[a-z_.]+\)|（请加入 data\.[a-z_.]+）")
_PLAIN_WORDS = {REASONS["absurd_amount"]: "amount too large to be real"}


def in_plain_words(reason: str) -> str:
    return _PLAIN_WORDS.get(reason) or _SETTING_HINT.sub("", reason)


# the reasons in Chinese: the one source of these words (the tier table's `status_reason_zh`, through
# `in_plain_words`, and the report's data-quality notes, segml.reporting.text.REJECTIONS)
REASONS_ZH = {
    "missing_customer_id": "缺少客户编号",
    "bad_timestamp": "无法解析的时间",
    "bad_amount": "无法解析的金额",
    "zero_amount": "金额为零",
    "absurd_amount": "金额过大，不像真实金额",
    "future": "日期晚于导出结束日",
    "duplicate": "与前面一行完全重复",
    "duplicate_customer": "客户在客户表中出现两次",
    "damaged_customer_id": "客户编号被表格软件改成科学计数法（丢失了位数：请将编号列导出为文本）",
    "bad_valid_from": "无法解析的生效日期",
}


# rows that are not transactions, or not of this period: counted, never rejected
OUTSIDE = {
    "after_period": "dated after as_of (outside the period)",
    "empty_rows": "empty row (no customer id, time or amount)",
    "total_rows": "total or subtotal row",
    "footer_rows": "note under the data (no time and no amount)",
}
SKIPPED = ("empty_rows", "total_rows", "footer_rows")  # besides the lines above a header
OUTSIDE_BASE = 64  # codes from here on are OUTSIDE's, in order

REASON_CODES = {key: k for k, key in enumerate(REASONS, start=1)}  # 0: kept
REASON_CODES |= {key: k for k, key in enumerate(OUTSIDE, start=OUTSIDE_BASE)}
REASON_TEXT = np.array(
    [None, *REASONS.values(), *[None] * (OUTSIDE_BASE - len(REASONS) - 1), *OUTSIDE.values()],
    dtype=object,
)  # by code


def is_rejected(reason: np.ndarray) -> np.ndarray:
    return (reason > 0) & (reason < OUTSIDE_BASE)


def is_outside(reason: np.ndarray) -> np.ndarray:
    return reason >= OUTSIDE_BASE


def reject_codes(
    customer: np.ndarray,
    ts: np.ndarray,
    amount: np.ndarray,
    end: pd.Timestamp,
    cfg: DataConfig,
    damaged: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, the code of the first reason it cannot be used (REASON_CODES), or 0. Duplicates
    are found later, among the rows kept here. `damaged`: rows whose id a spreadsheet turned into
    a number (their `customer` is -1)."""
    reason = np.zeros(len(customer), dtype=np.int8)

    def reject(mask: np.ndarray, key: str) -> None:
        reason[mask & (reason == 0)] = REASON_CODES[key]

    if damaged is not None:
        reject(damaged, "damaged_customer_id")
    reject(customer < 0, "missing_customer_id")
    reject(np.isnat(ts), "bad_timestamp")
    with np.errstate(invalid="ignore"):
        reject(np.isnan(amount), "bad_amount")
        if cfg.drop_zero_amounts:
            reject(amount == 0, "zero_amount")
        reject(np.abs(amount) > cfg.max_abs_amount, "absurd_amount")
    reject(ts > end.to_datetime64(), "future")
    return reason


def after_period(reason: np.ndarray, ts: np.ndarray, period_end: pd.Timestamp | None) -> np.ndarray:
    """Per row, whether it is dated after the period's end (but not future-dated: those stay
    rejected in every period)."""
    if period_end is None:
        return np.zeros(len(reason), dtype=bool)
    after = ~np.isnat(ts) & (ts > period_end.to_datetime64())
    return after & (reason != REASON_CODES["future"])


def outside_codes(reason: np.ndarray, after: np.ndarray, skipped: np.ndarray) -> np.ndarray:
    """`reason` with the rows that are outside: `skipped` (per row, 0 or an OUTSIDE code: not a
    transaction) whatever else is wrong with them, then the rows `after` the period, whatever
    else is wrong with them (the run of their own period judges them)."""
    out = reason.copy()
    out[after] = REASON_CODES["after_period"]
    out[skipped > 0] = skipped[skipped > 0]
    return out


def total_texts(text: pa.Array | pa.ChunkedArray, labels) -> np.ndarray:
    """Per text, whether it is a total label (`data.total_labels`), whatever its case, width,
    spaces or trailing colon ("合计：", " TOTAL ", "Total:")."""
    words = pa.array(sorted({_word(label) for label in labels}), pa.string())
    plain = pc.replace_substring_regex(narrowed(text), r"[\p{Z}\s]+", "")
    plain = pc.utf8_rtrim(pc.utf8_lower(plain), characters=":")
    return pc.fill_null(pc.is_in(plain, value_set=words), False).to_numpy(zero_copy_only=False)


def _word(text: str) -> str:
    return "".join(narrowed(pa.array([text])).to_pylist()[0].split()).lower().rstrip(":")


def _blank(text: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """Per row of `rows` (positions), whether its text is missing or only white space."""
    picked = text.take(pa.array(rows, pa.int64())) if len(rows) else pa.array([], pa.string())
    stripped = pc.utf8_trim_whitespace(picked)
    return pc.fill_null(pc.equal(pc.utf8_length(stripped), 0), True).to_numpy(zero_copy_only=False)


def blank_where(text: pa.Array | pa.ChunkedArray, candidates: np.ndarray) -> np.ndarray:
    """Per row, whether it is a candidate whose text is blank (only the candidates are looked
    at: the rows that did not parse, a few)."""
    out = np.zeros(len(candidates), dtype=bool)
    rows = np.flatnonzero(candidates)
    out[rows] = _blank(text, rows)
    return out


def has_content(ts_text: pa.Array | pa.ChunkedArray, amount_text) -> np.ndarray:
    """Per row, whether it has a time or an amount (text that is not blank)."""
    every = np.arange(len(ts_text))
    return ~(_blank(ts_text, every) & _blank(amount_text, every))


def last_content_rows(
    content: np.ndarray, file_of: np.ndarray, row_in_file: np.ndarray, n_files: int
) -> np.ndarray:
    """Per file, the last 1-based row with a time or an amount (0: none)."""
    last = np.zeros(n_files, dtype=np.int64)
    np.maximum.at(last, file_of[content], row_in_file[content])
    return last


@dataclass(frozen=True)
class RowText:
    """What tells a skipped row: per row, its id missing (blank), a total label in its id cell
    or (where the id is blank) its first cell, its time and its amount blank, and whether it
    lies after the last row of its file with a time or an amount."""

    id_blank: np.ndarray
    total_label: np.ndarray
    ts_blank: np.ndarray
    amount_blank: np.ndarray
    after_content: np.ndarray


def skipped_codes(rows: RowText) -> np.ndarray:
    """Per row, 0 or the OUTSIDE code of a row that is no transaction: an empty row; a total row
    (a total label in its id or first cell, or an amount with neither an id nor a time: a sum
    under the data); a note under the data (no time, no amount, after the file's last row with
    either)."""
    code = np.zeros(len(rows.id_blank), dtype=np.int8)
    no_time_or_amount = rows.ts_blank & rows.amount_blank
    empty = rows.id_blank & no_time_or_amount
    total = ~empty & (rows.total_label | (rows.id_blank & rows.ts_blank & ~rows.amount_blank))
    footer = ~empty & ~total & no_time_or_amount & rows.after_content
    for mask, key in ((empty, "empty_rows"), (total, "total_rows"), (footer, "footer_rows")):
        code[mask] = REASON_CODES[key]
    return code


def whole_rows(
    raw: pa.Table,
    bad: np.ndarray,
    reasons: np.ndarray,
    source: str | np.ndarray,
    row_numbers: np.ndarray,
) -> pd.DataFrame:
    """The user's rejected rows whole: every original column as text (mapped or not), plus the
    1-based data row in its file, the reason (`reasons`: one per bad row) and the file (`source`:
    one for all, or one per bad row). Nothing of a rejected row is lost."""
    positions = np.flatnonzero(bad)
    # a filter, not a take: Arrow takes from a chunked table by joining its chunks first
    rows = raw.filter(pa.array(bad)).to_pandas().astype("string")
    ours = (s.SOURCE_ROW, s.REJECT_REASON, s.SOURCE_FILE)
    rows = rows.rename(columns={c: f"{c} (original)" for c in ours if c in rows.columns})
    rows.insert(0, s.SOURCE_ROW, row_numbers[positions])
    # typed even when empty: the tables of several partitions stack into the same types
    rows[s.REJECT_REASON] = pd.Series(reasons, dtype="str")
    rows[s.SOURCE_FILE] = pd.Series(source, index=rows.index, dtype="str")
    return rows
