"""Payment attempts and usage events of subscribers: event logs indexed like transactions, their
window sums answered for every customer at every cutoff by `RunningTotals` in one pass.

A window (d1, d2] is the difference of two running totals, and each customer's totals restart at
its own rows, so rows of other customers (or rows after the cutoff) never change a customer's
sums, not even in the last bit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features.spells import day_numbers
from segml.features.transactions import RunningTotals


@dataclass(frozen=True)
class Events:
    """One event log sorted by customer code and day (what `RunningTotals` reads: `code`, `day`,
    `len`). Codes are the spells' customer codes; events of customers without a subscription are
    left out (prepare counts them)."""

    n_customers: int
    code: np.ndarray
    day: np.ndarray
    frame: pd.DataFrame  # the rows in the same order (outcome, quantity, kind)

    def __len__(self) -> int:
        return self.n_customers

    def last_day(self, customers: np.ndarray, day: int, mask: np.ndarray | None = None):
        """Per customer: the day of its last row (among `mask` rows) on or before `day`, NaN if none."""
        keep = np.ones(len(self.code), bool) if mask is None else np.asarray(mask, bool)
        code, days = self.code[keep], self.day[keep]
        if not len(code):
            return np.full(len(customers), np.nan)
        span = np.int64(1) << 24
        keys = code * span + days  # sorted: rows are sorted by code, then day
        before = np.searchsorted(keys, customers * span + day, side="right") - 1
        at = np.maximum(before, 0)  # -1: no row on or before `day` at all (row 0 may be later)
        return np.where((before >= 0) & (code[at] == customers), days[at], np.nan)


def index_events(frame: pd.DataFrame | None, customer_ids: pd.Index) -> Events | None:
    """An event log (columns customer_id, ts, ...) coded by the subscribers' ids."""
    if frame is None or frame.empty:
        return None
    code = customer_ids.get_indexer(frame[s.CUSTOMER_ID].astype(str))
    known = code >= 0
    day = day_numbers(frame[s.TS].to_numpy())[known]
    code = code[known].astype(np.int64)
    order = np.lexsort((day, code))
    rows = frame[known].iloc[order].reset_index(drop=True)
    return Events(len(customer_ids), code[order], day[order], rows)


def window_days(cutoffs: list[int], lengths: list[int]) -> list[int]:
    """Every day a window sum needs: each cutoff and each cutoff minus each window length."""
    return sorted({c - w for c in cutoffs for w in [0, *lengths]})


def payment_windows(events: Events, cutoffs: list[int], settings) -> dict[int, dict]:
    """Per cutoff, per customer code: failed payments in each payment window, late payments and
    attempts in the longest one, days since the last failed payment, and whether the latest
    attempt failed (`past_due`)."""
    windows = list(settings.payment_windows)
    longest = max(windows)
    totals = RunningTotals(events, window_days(cutoffs, windows))
    outcome = events.frame[s.OUTCOME].astype(str).to_numpy()
    sums = {
        "failed": totals.sum((outcome == "failed").astype(float)),
        "late": totals.sum((outcome == "late").astype(float)),
        "all": totals.sum(np.ones(len(outcome))),
    }
    everyone = np.arange(len(events))
    out = {}
    for c in cutoffs:

        def window(name, w, c=c):
            return sums[name][totals.row(c)] - sums[name][totals.row(c - w)]

        cols = {f"failed_payments_{w}d": window("failed", w) for w in windows}
        cols[f"late_payments_{longest}d"] = window("late", longest)
        cols[f"payments_{longest}d"] = window("all", longest)
        last_failed = events.last_day(everyone, c, outcome == "failed")
        last_any = events.last_day(everyone, c)
        cols["days_since_failed_payment"] = c - last_failed
        cols["past_due"] = ((last_failed == last_any) & ~np.isnan(last_any)).astype(float)
        out[c] = cols
    return out


def usage_kinds(events: Events | None, until_day: int) -> list[str]:
    """The vocabulary of usage kinds: the kinds seen by `until_day`, most used first (ties by name)."""
    if events is None:
        return []
    counts = Counter(events.frame[s.KIND].astype(str).to_numpy()[events.day <= until_day])
    return sorted(counts, key=lambda k: (-counts[k], k))


def usage_windows(events: Events, cutoffs: list[int], settings, kinds: list[str]) -> dict:
    """Per cutoff, per customer code and usage kind: usage in each usage window, its trend (the
    last `trend_days` against the ones before, -1..1), the last 30 days per record against the
    year's per record (1 = as usual), and days since any usage."""
    t = settings.trend_days
    lengths = [*settings.usage_windows, t, 2 * t, 30, 365]
    totals = RunningTotals(events, window_days(cutoffs, lengths))
    level = pd.Index(kinds).get_indexer(events.frame[s.KIND].astype(str))
    quantity = totals.sum_by_level(level, len(kinds), events.frame[s.QUANTITY].to_numpy(float))
    records = totals.sum_by_level(level, len(kinds), np.ones(len(level)))
    everyone = np.arange(len(events))
    out = {}
    for c in cutoffs:

        def window(table, j, far, near, c=c):  # the sum over (c - far, c - near]
            return table[totals.row(c - near), j] - table[totals.row(c - far), j]

        cols = {}
        for j, k in enumerate(kinds):
            for w in settings.usage_windows:
                cols[f"usage_{w}d__{k}"] = window(quantity, j, w, 0)
            recent, before = window(quantity, j, t, 0), window(quantity, j, 2 * t, t)
            year, last = window(quantity, j, 365, 0), window(quantity, j, 30, 0)
            n_year, n_last = window(records, j, 365, 0), window(records, j, 30, 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                total = recent + before
                cols[f"usage_trend_{t}d__{k}"] = np.where(total > 0, (recent - before) / total, 0.0)
                cols[f"usage_vs_year__{k}"] = np.where(
                    (year > 0) & (n_last > 0), (last / n_last) / (year / n_year), np.nan
                )
        cols["days_since_usage"] = c - events.last_day(everyone, c)
        out[c] = cols
    return out
