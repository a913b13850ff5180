"""The period a run grades: `as_of`, the export's end, and what lies between or beyond them.

A period is a date. Rows after `as_of` (but not after the export's end) are outside the period:
counted, never rejected. Rows after the export's end (stragglers after a long silent gap at the
tail of the data) are future-dated and rejected. An `as_of` far past the export's last purchase
would grade a gap with no data at all: `check_as_of` says so and stops, or, with
`data.as_of_past_end: export_end`, the run grades as of the export's last purchase
(`graded_as_of`, which the features stage applies the same way).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.config import DataConfig
from segml.errors import PeriodError

DAY_NS = 86_400 * 10**9


def active_days(ts: np.ndarray) -> np.ndarray:
    """The distinct days with a parseable timestamp (datetime64[ns]), sorted."""
    day = ts.view("int64")[~np.isnat(ts)] // DAY_NS
    if not len(day):
        return np.array([], dtype="datetime64[ns]")
    first = day.min()
    return ((np.flatnonzero(np.bincount(day - first)) + first) * DAY_NS).astype("datetime64[ns]")


def end_of_day(day: pd.Timestamp) -> pd.Timestamp:
    return day + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def export_end(days: np.ndarray, max_gap_days: int) -> pd.Timestamp:
    """Last day of real activity among the export's `active_days`: stragglers after a long silent
    gap at the tail are future-dated."""
    if len(days) == 0:
        return pd.Timestamp.max
    gaps = np.diff(days) > np.timedelta64(max_gap_days, "D")
    if not gaps.any():
        return end_of_day(pd.Timestamp(days[-1]))
    cut = np.flatnonzero(gaps)[-1]
    # only a thin tail counts as stragglers; a big block after a gap is real data
    if len(days) - cut - 1 > max(3, 0.05 * len(days)):
        return end_of_day(pd.Timestamp(days[-1]))
    return end_of_day(pd.Timestamp(days[cut]))


def period_end(as_of: str | None) -> pd.Timestamp | None:
    """The last instant inside the period (None: the whole export)."""
    return end_of_day(pd.Timestamp(as_of)) if as_of else None


def days_past_end(as_of: str | None, last_date: str | None) -> int:
    """How many days `as_of` lies after the last purchase (0 when it does not)."""
    if not as_of or not last_date:
        return 0
    return max(0, (pd.Timestamp(as_of) - pd.Timestamp(last_date)).days)


def check_as_of(as_of: str | None, last_date: str | None, cfg: DataConfig) -> str | None:
    """Stop when `as_of` lies more than `data.max_tail_gap_days` past the export's last purchase
    (with `data.as_of_past_end: export_end`, a note instead: the run grades as of that purchase)."""
    gap = days_past_end(as_of, last_date)
    if gap <= cfg.max_tail_gap_days:
        return None
    if cfg.as_of_past_end == "export_end":
        return (
            f"as_of {as_of} is {gap} days after the export's last purchase ({last_date}): graded "
            f"as of {last_date} (data.as_of_past_end: export_end)."
        )
    raise PeriodError(
        f"as_of {as_of} is {gap} days after the export's last purchase ({last_date}), more than "
        f"data.max_tail_gap_days ({cfg.max_tail_gap_days}): those {gap} days have no data at all, "
        "so every customer would look lapsed and churn could not be measured. Set as_of to "
        f"{last_date} or earlier (null grades as of the export's end), add the missing months to "
        "the export, set data.as_of_past_end: export_end to grade as of the last purchase, or "
        "raise data.max_tail_gap_days if there really were no sales."
    )


def graded_as_of(as_of: str | None, last_day: pd.Timestamp, cfg: DataConfig | None) -> str | None:
    """The date a run grades: `as_of`, or None (the export's end) when `as_of` lies past the last
    purchase by more than `data.max_tail_gap_days` and `data.as_of_past_end` is export_end."""
    if cfg is None or not as_of or cfg.as_of_past_end != "export_end":
        return as_of
    gap = days_past_end(as_of, str(pd.Timestamp(last_day).date()))
    return None if gap > cfg.max_tail_gap_days else as_of
