"""What every table of a subscription export shares when it is prepared: the reasons a row is
rejected (the transaction reader's words where the reason is the same, `segml.data.rejects`), the
first reason per row, rows outside the period or no row at all (counted, never rejected), the
user's words mapped to canonical values (billing periods, contract terms, statuses, payment
outcomes), the column mapping with the headers not found recorded, and the per-table counts.

The tables themselves are `segml.data.spells` (subscriptions) and
`segml.data.subscription_events` (usage and payments); `segml.data.subscriptions` runs them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data.files import SourceFiles, sources_of
from segml.data.parse import clean_ids, damaged_ids, parse_timestamps, text_or_none
from segml.data.rejects import REASONS, REASONS_ZH, total_texts, whole_rows
from segml.data.validate import column_mapping

# the transaction reader's words where the reason is the same; new ones name the key to set
SUBSCRIPTION_REASONS = {
    "damaged_customer_id": REASONS["damaged_customer_id"],
    "missing_customer_id": REASONS["missing_customer_id"],
    "missing_subscription_id": "missing subscription id",
    "bad_start": "unparseable start date",
    "bad_end": "unparseable end date",
    "bad_cancelled_on": "unparseable cancellation date",
    "bad_timestamp": REASONS["bad_timestamp"],
    "bad_amount": REASONS["bad_amount"],
    "negative_amount": "negative recurring amount",
    "absurd_amount": REASONS["absurd_amount"],
    "bad_quantity": "unparseable or negative quantity",
    "unknown_period": "unknown billing period (add it to data.subscriptions.billing_periods)",
    "unknown_contract": "unknown contract term (add it to data.subscriptions.contracts)",
    "unknown_outcome": "unknown payment outcome (add it to data.payments.outcomes)",
    "ends_before_start": "ends before it starts",
    "future": REASONS["future"],
    "duplicate": REASONS["duplicate"],
    "overlap": "overlaps an earlier row of the same subscription",
}
# the reasons in Chinese (the one source, as REASONS_ZH: settings named as in English, and left out
# of `status_reason_zh` by `in_plain_words`)
SUBSCRIPTION_REASONS_ZH = {
    **{key: REASONS_ZH[key] for key in SUBSCRIPTION_REASONS if key in REASONS_ZH},
    "missing_subscription_id": "缺少订阅编号",
    "bad_start": "无法解析的开始日期",
    "bad_end": "无法解析的结束日期",
    "bad_cancelled_on": "无法解析的取消日期",
    "negative_amount": "月费为负数",
    "bad_quantity": "用量无法解析或为负数",
    "unknown_period": "未知的计费周期（请加入 data.subscriptions.billing_periods）",
    "unknown_contract": "未知的合约期（请加入 data.subscriptions.contracts）",
    "unknown_outcome": "未知的付款结果（请加入 data.payments.outcomes）",
    "ends_before_start": "结束早于开始",
    "overlap": "与同一订阅的更早记录重叠",
}
# counted, never rejected (the transaction reader's words)
OUTSIDE_KINDS = ("after_period", "empty_rows", "total_rows")


class Rows:
    """Per row of one table: the first reason it is rejected (a key of SUBSCRIPTION_REASONS) or
    why it is outside (a key of OUTSIDE_KINDS), None for a kept row. Outside wins: a total row
    or a row after the period is not judged."""

    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.outside = np.full(n, None, dtype=object)

    def reject(self, mask: np.ndarray, key: str) -> None:
        assert key in SUBSCRIPTION_REASONS, key
        new = np.asarray(mask, dtype=bool) & pd.isna(self.reason) & pd.isna(self.outside)
        self.reason[new] = key

    def set_outside(self, mask: np.ndarray, key: str) -> None:
        assert key in OUTSIDE_KINDS, key
        new = np.asarray(mask, dtype=bool) & pd.isna(self.outside)
        self.outside[new] = key
        self.reason[new] = None

    @property
    def good(self) -> np.ndarray:
        return pd.isna(self.reason) & pd.isna(self.outside)

    @property
    def rejected(self) -> np.ndarray:
        return pd.notna(self.reason)

    def counts(self, above_header: int = 0) -> dict:
        """rows read = clean + rejected + skipped + after the period."""
        rejected = pd.Series(self.reason[self.rejected]).value_counts()
        outside = pd.Series(self.outside[pd.notna(self.outside)]).value_counts()
        skipped = {k: int(outside.get(k, 0)) for k in OUTSIDE_KINDS[1:] if outside.get(k, 0)}
        if above_header:
            skipped = {"lines_above_header": above_header, **skipped}
        return {
            "rows_read": int(len(self.reason)) + above_header,
            "rows_clean": int(self.good.sum()),
            "rows_rejected": int(self.rejected.sum()),
            "rows_skipped": int(sum(skipped.values())),
            "rows_after_period": int(outside.get("after_period", 0)),
            "rejected_by_reason": {
                k: int(rejected[k]) for k in SUBSCRIPTION_REASONS if k in rejected
            },
            "skipped_by_kind": skipped,
        }


@dataclass
class Table:
    """One raw table of the export: its text, where it came from, its mapped columns, and what
    preparing it found (`quality` gets `columns_not_found`)."""

    raw: pa.Table
    source: str
    key: str  # the config group of its mapping: data.subscriptions, data.usage, data.payments
    columns: dict[str, object]
    sources: SourceFiles
    not_found: dict = field(default_factory=dict)
    _texts: dict = field(default_factory=dict, repr=False)  # stripped text by canonical name

    @property
    def n(self) -> int:
        return self.raw.num_rows

    def has(self, canonical: str) -> bool:
        return canonical in self.columns

    def text(self, canonical: str) -> pa.Array | pa.ChunkedArray:
        """The column's stripped text, blanks missing (all missing when it is not mapped)."""
        if canonical not in self.columns:
            return pa.nulls(self.n, pa.string())
        if canonical not in self._texts:
            self._texts[canonical] = text_or_none(self.raw[self.columns[canonical]])
        return self._texts[canonical]

    def values(self, canonical: str) -> pd.Series:
        return pd.Series(self.text(canonical).to_pandas(), dtype=object)

    def ids(self, canonical: str) -> pa.Array | pa.ChunkedArray:
        """Ids cleaned as the transaction reader cleans them (`clean_ids`)."""
        if canonical not in self.columns:
            return pa.nulls(self.n, pa.string())
        return clean_ids(self.raw[self.columns[canonical]])

    def dates(self, canonical: str, cfg: DataConfig) -> np.ndarray:
        if canonical not in self.columns:
            return np.full(self.n, np.datetime64("NaT"), dtype="datetime64[ns]")
        return parse_timestamps(self.text(canonical), cfg).astype("datetime64[ns]")

    def rejected_rows(self, rows: Rows) -> pd.DataFrame:
        """The rejected rows whole, with their file, row in it and reason in words."""
        bad = rows.rejected
        file_of, row_in_file = self.sources.locate(np.arange(1, self.n + 1))
        names = np.asarray(self.sources.names, dtype=object)
        reasons = np.array([SUBSCRIPTION_REASONS[k] for k in rows.reason[bad]], dtype=object)
        return whole_rows(self.raw, bad, reasons, names[file_of[bad]], row_in_file)


def mapped_table(
    raw: pa.Table, mapping: dict, required: tuple[str, ...], source: str, key: str, cfg: DataConfig
) -> Table:
    """The table with its columns mapped (`validate.column_mapping`: a required column missing
    stops with advice, an optional one warns); the mapped headers the file lacks are kept, with
    the nearest header, for the data-quality figures."""
    columns = column_mapping(
        raw.column_names, mapping, required, source, f"{key}.columns", cfg.on_missing_column
    )
    not_found = {}
    for canonical, theirs in mapping.items():
        if theirs is not None and canonical not in columns:
            near = difflib.get_close_matches(str(theirs), raw.column_names, n=1, cutoff=0.5)
            not_found[f"{key}.columns.{canonical}"] = {
                "column": str(theirs),
                **({"did_you_mean": near[0]} if near else {}),
            }
    sources = sources_of(raw) or SourceFiles.single(source, raw.num_rows)
    return Table(raw, source, key, columns, sources, not_found)


def words(text: pd.Series, mapping: dict, blank=None) -> pd.Series:
    """The user's words mapped (case and surrounding space ignored), as an object Series: an
    unknown word is NaN (a reason to reject where the word matters), a blank cell `blank`. Each
    distinct word is looked up once."""
    table = {str(k).strip().casefold(): v for k, v in mapping.items()}
    codes, distinct = pd.factorize(text.to_numpy(dtype=object))  # a blank cell: -1
    looked_up = [table.get(str(word).strip().casefold(), np.nan) for word in distinct]
    values = np.array([*looked_up, blank], dtype=object)  # the last: blank
    return pd.Series(values[codes], dtype=object)


def unmapped_words(text: pd.Series, mapped: pd.Series) -> dict[str, int]:
    """The words of `text` that `mapped` (its `words`) left unknown, with their rows, for the
    data-quality notes: a rejected row's reason names the setting, the note names the words."""
    unknown = text[mapped.isna().to_numpy() & text.notna().to_numpy()].astype(str).str.strip()
    return {str(k): int(n) for k, n in unknown.value_counts().sort_index().items()}


def reject_ids(table: Table, rows: Rows, ids: pa.Array | pa.ChunkedArray) -> None:
    """Damaged ids (a spreadsheet's scientific notation), then missing ones."""
    rows.reject(damaged_ids(ids), "damaged_customer_id")
    rows.reject(pc.is_null(ids).to_numpy(zero_copy_only=False), "missing_customer_id")


def skip_non_rows(table: Table, rows: Rows, labels, id_column: str) -> None:
    """Rows that are no row of the table: every mapped cell blank (an empty row), or a total
    label in the id cell (`data.total_labels`). Counted, never rejected."""
    blank = np.ones(table.n, dtype=bool)
    for canonical in table.columns:
        blank &= pc.is_null(table.text(canonical)).to_numpy(zero_copy_only=False)
    rows.set_outside(blank, "empty_rows")
    # judged once per distinct id
    encoded = pc.dictionary_encode(table.text(id_column)).combine_chunks()
    labelled = np.r_[total_texts(encoded.dictionary, labels), False]  # the last: no id
    total = labelled[pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)]
    rows.set_outside(total & ~blank, "total_rows")


def reject_duplicates(table: Table, rows: Rows) -> None:
    """Rows equal in every mapped column to an earlier row (only kept rows are compared: a copy
    of a rejected row is rejected for the same reason already)."""
    mapped = table.raw.select([table.columns[c] for c in table.columns])
    duplicated = mapped.to_pandas().duplicated(keep="first").to_numpy()
    rows.reject(duplicated & rows.good, "duplicate")


def after_period(rows: Rows, dated: np.ndarray, period_end: pd.Timestamp | None) -> None:
    """Rows dated after as_of are outside the period (counted): the run of their period judges
    them. Future-dated rows stay rejected in every period."""
    if period_end is None:
        return
    later = ~np.isnat(dated) & (dated > period_end.to_datetime64())
    not_future = np.array([r != "future" for r in rows.reason], dtype=bool)
    rows.set_outside(later & not_future, "after_period")


def text_column(values, mask: np.ndarray | None = None) -> pd.Series:
    """Text (Arrow, or an object Series) as pandas' `str`, the rows of `mask`; missing stays
    missing."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        kept = values.filter(pa.array(mask)) if mask is not None else values
        return pd.Series(kept.to_pandas(), dtype="str").reset_index(drop=True)
    series = pd.Series(values, dtype=object)
    if mask is not None:
        series = series[mask]
    return series.reset_index(drop=True).astype("str")
