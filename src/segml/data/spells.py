"""The subscriptions table of an export: one row per spell (one plan at one price over
[start, end)), prepared as the transaction reader prepares purchases.

In steps: skip rows that are no row (empty, totals); give each row the first reason it cannot be
used (missing ids, unparseable dates or amount, a negative or absurd amount, a billing period or
contract term the config does not map, an end before the start, a start after the export's end);
set the rows that start after `as_of` aside (outside the period, counted); reject exact
duplicates, then spells that overlap an earlier spell of their subscription; and keep the rest as
the clean table with its derived columns (`mrr`, `is_trial`), checked against
`contracts.CLEAN_SUBSCRIPTIONS`. The export's `status` word is mapped and kept, but it is as of the
export only: an unknown word is counted, never a reason to reject (the dates say what happened).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from segml.config import DataConfig
from segml.data import contracts
from segml.data import schema as s
from segml.data.parse import parse_amounts
from segml.data.subscription_rows import (
    Rows,
    Table,
    after_period,
    reject_duplicates,
    reject_ids,
    skip_non_rows,
    text_column,
    unmapped_words,
    words,
)

BILLING_PERIOD = "billing_period"  # the user's word for it; billing_months is the canonical value
CONTRACT = "contract"
OVER = ("cancelled", "expired")  # status words that say a spell is over


@dataclass(frozen=True)
class PreparedSpells:
    """The subscriptions table prepared: clean spells, rejected rows whole, figures."""

    clean: pd.DataFrame
    rejected: pd.DataFrame
    quality: dict
    rows: Rows
    customer_ids: pa.Array | pa.ChunkedArray  # per input row, its cleaned customer id


@dataclass(frozen=True)
class _Parsed:
    customer: pa.Array | pa.ChunkedArray
    subscription: pd.Series
    start: np.ndarray
    end: np.ndarray
    cancelled_on: np.ndarray
    amount: np.ndarray
    months: pd.Series  # billing period in months (NaN: an unknown word)
    contract: pd.Series  # contract term in months (NaN: an unknown word)
    status_text: pd.Series
    status: pd.Series


def _parsed(table: Table, cfg: DataConfig) -> _Parsed:
    """Every mapped column parsed: dates as `ts` is parsed, amounts as purchases, words by the
    config's maps (an absent column: monthly billing, no contract)."""
    group = cfg.subscriptions
    status_text = table.values(s.STATUS)
    status = words(status_text, group.get("statuses", {}))
    return _Parsed(
        customer=table.ids(s.CUSTOMER_ID),
        subscription=table.values(s.SUBSCRIPTION_ID),
        start=table.dates(s.START, cfg),
        end=table.dates(s.END, cfg),
        cancelled_on=table.dates(s.CANCELLED_ON, cfg),
        amount=parse_amounts(table.text(s.AMOUNT), cfg),
        months=words(table.values(BILLING_PERIOD), group.get("billing_periods", {}), 1),
        contract=words(table.values(CONTRACT), group.get("contracts", {}), 0),
        status_text=status_text,
        status=status.where(status.isin(s.STATUSES), np.nan),  # a word mapped to no status
    )


def prepare_spells(
    table: Table, cfg: DataConfig, end: pd.Timestamp, period_end: pd.Timestamp | None
) -> PreparedSpells:
    """The clean spells of `table` (the subscriptions file mapped); `end`: the export's end over
    every table; `period_end`: the end of as_of's day (None: the whole export)."""
    p = _parsed(table, cfg)
    rows = Rows(table.n)
    skip_non_rows(table, rows, cfg.total_labels, s.CUSTOMER_ID)
    _reject(rows, table, p, cfg, end)
    after_period(rows, p.start, period_end)
    reject_duplicates(table, rows)
    rows.reject(_overlaps(rows.good, p), "overlap")
    clean = _clean(rows.good, table, p)
    contracts.CLEAN_SUBSCRIPTIONS.validate(clean, inplace=True)
    quality = rows.counts(sum(table.sources.above_header)) | _figures(clean, rows, p, end)
    quality["unknown_words"] = {
        "billing_periods": unmapped_words(table.values(BILLING_PERIOD), p.months),
        "contracts": unmapped_words(table.values(CONTRACT), p.contract),
    }
    return PreparedSpells(clean, table.rejected_rows(rows), quality, rows, p.customer)


def _reject(rows: Rows, table: Table, p: _Parsed, cfg: DataConfig, end: pd.Timestamp) -> None:
    """Each row's first reason, in the order of the design note's table (§4)."""
    reject_ids(table, rows, p.customer)
    rows.reject(p.subscription.isna().to_numpy(), "missing_subscription_id")
    rows.reject(np.isnat(p.start), "bad_start")
    rows.reject(np.isnat(p.end) & table.values(s.END).notna().to_numpy(), "bad_end")
    rows.reject(
        np.isnat(p.cancelled_on) & table.values(s.CANCELLED_ON).notna().to_numpy(),
        "bad_cancelled_on",
    )
    with np.errstate(invalid="ignore"):
        rows.reject(np.isnan(p.amount), "bad_amount")
        rows.reject(p.amount < 0, "negative_amount")
        rows.reject(np.abs(p.amount) > cfg.max_abs_amount, "absurd_amount")
    rows.reject(p.months.isna().to_numpy(), "unknown_period")
    rows.reject(p.contract.isna().to_numpy(), "unknown_contract")
    rows.reject(~np.isnat(p.end) & (p.end < p.start), "ends_before_start")
    rows.reject(p.start > end.to_datetime64(), "future")


def _overlaps(good: np.ndarray, p: _Parsed):
    """Per row, whether it is kept so far and starts before the spell of the same subscription
    before it (by start, then input order) has ended: two prices for one service at a time. A
    subscription is the customer's: exports often number them per customer (1, 2, ...)."""
    kept = np.flatnonzero(good)
    customer = pd.Series(p.customer.to_pandas(), dtype=object).to_numpy()
    key = pd.Series(customer).astype(str) + "\x1f" + p.subscription.astype(str).to_numpy()
    key = key.to_numpy(dtype=object)
    start, end = p.start, p.end
    order = kept[np.lexsort((start[kept].view("int64"), key[kept].astype(str)))]
    sub, begin, finish = key[order], start[order], end[order]
    same = np.r_[False, sub[1:] == sub[:-1]]
    earlier_end = np.r_[np.datetime64("NaT"), finish[:-1]]
    overlap = np.zeros(len(good), dtype=bool)
    overlap[order[same & (np.isnat(earlier_end) | (earlier_end > begin))]] = True
    return overlap


def _clean(good: np.ndarray, table: Table, p: _Parsed) -> pd.DataFrame:
    """The kept spells in canonical columns, by customer, start and subscription."""
    amount = p.amount[good]
    months = p.months.to_numpy(dtype=float)[good].astype(np.int64)
    status = p.status.to_numpy(dtype=object)[good]
    status = np.where(pd.isna(status), None, status)
    clean = pd.DataFrame(
        {
            s.CUSTOMER_ID: text_column(p.customer, good),
            s.SUBSCRIPTION_ID: text_column(table.text(s.SUBSCRIPTION_ID), good),
            s.PLAN: text_column(table.text(s.PLAN), good),
            s.START: p.start[good],
            s.END: p.end[good],
            s.AMOUNT: amount.astype(float),
            s.BILLING_MONTHS: months,
            s.CONTRACT_MONTHS: p.contract.to_numpy(dtype=float)[good].astype(np.int64),
            s.STATUS: text_column(status),
            s.CANCELLED_ON: p.cancelled_on[good],
            s.MRR: amount / months,
            # a free spell: the spell's own property. Not the status word: it is as of the
            # export, so only trials still running then would say "trial" (those who stayed)
            s.IS_TRIAL: amount == 0,
        }
    )
    order = [s.CUSTOMER_ID, s.START, s.SUBSCRIPTION_ID]
    return clean.sort_values(order, kind="stable", ignore_index=True)


def _figures(clean: pd.DataFrame, rows: Rows, p: _Parsed, end: pd.Timestamp) -> dict:
    """What the data team should look at: running spells, trials, statuses the dates contradict
    (dates win), ends scheduled after the export, status words no config maps."""
    running = clean[s.END].isna()
    says_over = clean[s.STATUS].isin(OVER).to_numpy()
    unknown = rows.good & p.status.isna().to_numpy() & p.status_text.notna().to_numpy()
    words_seen = p.status_text[unknown].value_counts()
    return {
        "customers": int(clean[s.CUSTOMER_ID].nunique()),
        "subscriptions": int(clean[s.SUBSCRIPTION_ID].nunique()),
        "running_share": float(running.mean()) if len(clean) else 0.0,
        "trial_rows": int(clean[s.IS_TRIAL].sum()),
        "status_disagrees_with_dates": int((says_over & running.to_numpy()).sum()),
        "ends_after_export": int((clean[s.END] > end).sum()),
        "unknown_status_words": {str(k): int(n) for k, n in words_seen.sort_index().items()},
    }
