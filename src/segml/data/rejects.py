"""Rejected rows: the reasons a row cannot be used, each row's first one, and the rows kept whole.

Nothing the user sent is silently dropped: a rejected row keeps every original column as text,
its 1-based row number in the file, the file and one reason (in words, from `REASONS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from segml.config import DataConfig
from segml.data import schema as s

REASONS = {
    "missing_customer_id": "missing customer id",
    "bad_timestamp": "unparseable timestamp",
    "bad_amount": "unparseable amount",
    "zero_amount": "zero amount",
    "absurd_amount": "absolute amount above data.max_abs_amount",
    "future": "dated after the end of the export (future-dated)",
    "duplicate": "exact duplicate of an earlier row",
    "duplicate_customer": "customer id listed twice in the customer table",
}

REASON_CODES = {key: k for k, key in enumerate(REASONS, start=1)}  # 0: kept
REASON_TEXT = np.array([None, *REASONS.values()], dtype=object)  # by code


def reject_codes(
    customer: np.ndarray, ts: np.ndarray, amount: np.ndarray, end: pd.Timestamp, cfg: DataConfig
) -> np.ndarray:
    """Per row, the code of the first reason it cannot be used (REASON_CODES), or 0. Duplicates
    are found later, among the rows kept here."""
    reason = np.zeros(len(customer), dtype=np.int8)

    def reject(mask: np.ndarray, key: str) -> None:
        reason[mask & (reason == 0)] = REASON_CODES[key]

    reject(customer < 0, "missing_customer_id")
    reject(np.isnat(ts), "bad_timestamp")
    with np.errstate(invalid="ignore"):
        reject(np.isnan(amount), "bad_amount")
        if cfg.drop_zero_amounts:
            reject(amount == 0, "zero_amount")
        reject(np.abs(amount) > cfg.max_abs_amount, "absurd_amount")
    reject(ts > end.to_datetime64(), "future")
    return reason


def whole_rows(
    raw: pa.Table, bad: np.ndarray, reasons: np.ndarray, source: str, row_numbers: np.ndarray
) -> pd.DataFrame:
    """The user's rejected rows whole: every original column as text (mapped or not), plus the
    1-based data row, the reason (`reasons`: one per bad row) and the file. Nothing of a rejected
    row is lost."""
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
