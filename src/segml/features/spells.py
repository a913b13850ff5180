"""Subscription spells as flat arrays, and what they say at a cutoff and after it.

A subscription export is a table of spells: one row per period with one plan and one price; a plan
change or a renewal closes a row and opens the next one under the same subscription id. Service
runs over [start, end); an empty end is running. At a cutoff c (inclusive, as for transactions) a
spell exists only if start <= c, and its end only if end <= c: a later end, a later spell or the
export's status word are never seen at c (docs/design-subscriptions.md, sections 1, 5 and 6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features.transactions import EPOCH

NEVER = np.iinfo(np.int64).max // 4  # the end of a running spell


def day_numbers(values) -> np.ndarray:
    """Dates as day numbers since 1970-01-01; missing dates (NaT) as NEVER."""
    v = np.asarray(values, dtype="datetime64[D]")
    out = (v - EPOCH).astype(np.int64)
    out[np.isnat(v)] = NEVER
    return out


def add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Day numbers moved by whole months, the day of month kept (clipped to the month's end):
    2024-01-31 + 1 month = 2024-02-29."""
    d = EPOCH + days.astype("timedelta64[D]")
    month = d.astype("datetime64[M]")
    offset = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months.astype("timedelta64[M]")
    first = target.astype("datetime64[D]")
    length = ((target + 1).astype("datetime64[D]") - first).astype(np.int64)
    return (first - EPOCH).astype(np.int64) + np.minimum(offset, length - 1)


@dataclass(frozen=True)
class Spells:
    """Spells sorted by customer, start and subscription; customers coded in id order."""

    customer_ids: pd.Index  # code -> customer_id (text)
    code: np.ndarray  # per spell
    sub: np.ndarray  # per spell: subscription code
    plan: np.ndarray
    start: np.ndarray
    end: np.ndarray  # NEVER when running
    mrr: np.ndarray
    contract: np.ndarray  # commitment term in months, 0 = month-to-month
    trial: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_ids)


def index_spells(subscriptions: pd.DataFrame) -> Spells:
    """The prepared subscriptions table (canonical columns) as arrays."""
    subs = subscriptions.sort_values([s.CUSTOMER_ID, s.START, s.SUBSCRIPTION_ID], kind="stable")
    code, ids = pd.factorize(subs[s.CUSTOMER_ID].astype(str), sort=True)
    if s.MRR in subs:
        mrr = subs[s.MRR].to_numpy(float)
    else:
        mrr = subs[s.AMOUNT].to_numpy(float) / subs[s.BILLING_MONTHS].to_numpy(float)
    trial = subs[s.IS_TRIAL].fillna(False).to_numpy(bool) if s.IS_TRIAL in subs else mrr == 0
    contract = (
        subs[s.CONTRACT_MONTHS].fillna(0).to_numpy(np.int64)
        if s.CONTRACT_MONTHS in subs
        else np.zeros(len(subs), np.int64)
    )
    # a blank or unmapped plan is "" (no level: the feature is missing, and no plan change)
    plan = (
        subs[s.PLAN].fillna("").astype(str).to_numpy(dtype=object)
        if s.PLAN in subs
        else np.full(len(subs), "", dtype=object)
    )
    # a subscription is its customer's: exports often number them per customer (1, 2, ...)
    subscription = subs[s.CUSTOMER_ID].astype(str) + "\x1f" + subs[s.SUBSCRIPTION_ID].astype(str)
    return Spells(
        pd.Index(ids, dtype="str"),
        code.astype(np.int64),
        pd.factorize(subscription)[0],
        plan,
        day_numbers(subs[s.START].to_numpy()),
        day_numbers(subs[s.END].to_numpy()),
        mrr,
        contract,
        trial,
    )


def coverage_runs(
    code: np.ndarray, start: np.ndarray, end: np.ndarray, grace: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage runs: spells (sorted by customer, start) merged across gaps of at most `grace`
    days. Per spell: its run's number within the customer, the run's start and the run's end."""
    if not len(code):
        z = np.zeros(0, np.int64)
        return z, z, z
    new_customer = np.r_[True, code[1:] != code[:-1]]
    group = np.cumsum(new_customer) - 1
    reach = pd.Series(end).groupby(group).cummax().to_numpy()  # the furthest end so far
    previous_reach = np.r_[-NEVER, reach[:-1]]
    new_run = new_customer | (start > previous_reach + grace)
    run = np.cumsum(new_run) - 1
    run_start = start[new_run][run]
    run_end = pd.Series(reach).groupby(run).transform("max").to_numpy()
    first_run = pd.Series(run).groupby(group).transform("min").to_numpy()
    return run - first_run, run_start, run_end


def term_end(start: np.ndarray, months: np.ndarray, day: int) -> np.ndarray:
    """The end of the commitment term running at `day`: start + k terms, the first after `day` (a
    contract that renews itself without a new row keeps counting terms); NEVER for no contract."""
    out = np.full(len(start), NEVER)
    on = months > 0
    s_on, t_on = start[on], months[on]
    # whole terms already over, from the months elapsed (then one step to be exact at month ends)
    elapsed = (to_months(np.full(len(s_on), day)) - to_months(s_on)) // np.maximum(t_on, 1)
    k = np.maximum(elapsed, 1)
    end = add_months(s_on, k * t_on)
    for _ in range(3):
        over = end <= day
        if not over.any():
            break
        k[over] += 1
        end[over] = add_months(s_on[over], k[over] * t_on[over])
    out[on] = end
    return out


def to_months(days: np.ndarray) -> np.ndarray:
    """Day numbers as month numbers since 1970-01."""
    return (EPOCH + days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)


@dataclass(frozen=True)
class AtCutoff:
    """The spells as known at one cutoff day, and who is a customer then."""

    spells: Spells
    day: int
    seen: np.ndarray  # spells started by the day
    end: np.ndarray  # per seen spell: its end if on or before the day, else NEVER
    customers: np.ndarray  # codes of customers with a running spell, in code order
    row: np.ndarray  # code -> row of the output (-1: no row)

    def take(self, name: str) -> np.ndarray:
        return getattr(self.spells, name)[self.seen]

    @property
    def running(self) -> np.ndarray:
        return self.end > self.day

    def rows(self) -> np.ndarray:
        """Per seen spell, its customer's output row (-1: not a customer now)."""
        return self.row[self.take("code")]


def at_cutoff(spells: Spells, day: int) -> AtCutoff:
    """Who has a running spell at `day` (a spell ending on the day is over; a later start is not
    seen): the population at risk, one row each."""
    seen = spells.start <= day
    end = np.where(spells.end[seen] <= day, spells.end[seen], NEVER)  # a later end: not known yet
    customers = np.unique(spells.code[seen][end > day])
    row = np.full(len(spells), -1)
    row[customers] = np.arange(len(customers))
    return AtCutoff(spells, day, seen, end, customers, row)


def per_row(rows: np.ndarray, values: np.ndarray, n: int, ufunc, fill) -> np.ndarray:
    """`values` reduced per output row by `ufunc` (np.minimum, np.maximum), `fill` where none."""
    out = np.full(n, fill, dtype=np.asarray(values).dtype if len(values) else np.int64)
    keep = rows >= 0
    ufunc.at(out, rows[keep], values[keep])
    return out


def spell_labels(spells: Spells, at: AtCutoff, horizon_days: int, grace_days: int) -> dict:
    """What happens in (day, day + H]: from every spell, later ends included (labels are the
    future). `churned`: the customer's coverage, merged over gaps of at most `grace_days`, ends in
    the window; `future_value` and `value_365d`: recurring revenue in the next H and 365 days
    (each spell's monthly rate x service days / 30.4375); `days_to_churn` censored at H."""
    day, n = at.day, len(at.customers)
    _, run_start, run_end = coverage_runs(spells.code, spells.start, spells.end, grace_days)
    rows = at.row[spells.code]
    covering = (run_start <= day) & (run_end > day) & (rows >= 0)
    coverage_end = per_row(rows[covering], run_end[covering], n, np.maximum, -NEVER)
    out = {
        s.CHURNED: (coverage_end <= day + horizon_days).astype(np.int8),
        s.DAYS_TO_CHURN: np.minimum(coverage_end - day, horizon_days).astype(float),
    }
    for name, window in ((s.FUTURE_VALUE, horizon_days), (s.VALUE_365, 365)):
        out[name] = revenue_between(spells.start, spells.end, spells.mrr, rows, n, day, window)
    return out


def revenue_between(start, end, mrr, rows, n: int, day: int, window: int) -> np.ndarray:
    """Per output row: recurring revenue over the days day+1 .. day+window (window > 0) or
    day-|window|+1 .. day (window < 0), at each spell's monthly rate."""
    lo, hi = (day + 1, day + window + 1) if window > 0 else (day + window + 1, day + 1)
    overlap = np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0, None)
    keep = rows >= 0
    return np.bincount(rows[keep], weights=(mrr * overlap / s.DAYS_PER_MONTH)[keep], minlength=n)


def cancelled_at(spells: Spells, day: int, within_days: int = 365) -> pd.DataFrame:
    """Customers with nothing running at `day` whose last spell ended in the `within_days` before
    it: not scored, listed apart like customers without a purchase (columns of prepare's
    `no_purchase_customers`: customer_id, status `cancelled`, reject_reasons saying when)."""
    at = at_cutoff(spells, day)
    code, end = spells.code[at.seen], at.end
    last_end = per_row(code, np.where(end > day, -NEVER, end), len(spells), np.maximum, -NEVER)
    first = per_row(code, spells.start[at.seen], len(spells), np.minimum, NEVER)
    gone = (at.row < 0) & (last_end > day - within_days) & (last_end <= day)
    gone &= np.isin(np.arange(len(spells)), code)
    months = np.round((last_end[gone] - first[gone]) / s.DAYS_PER_MONTH).astype(int)
    dates = (EPOCH + last_end[gone].astype("timedelta64[D]")).astype(str)
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: spells.customer_ids[np.flatnonzero(gone)].to_numpy(str),
            "status": "cancelled",
            "reject_reasons": [
                f"cancelled on {d} after {m} month{'' if m == 1 else 's'}"
                for d, m in zip(dates, months)
            ],
            "reject_reasons_zh": [f"{d}取消，此前订阅{m}个月" for d, m in zip(dates, months)],
        }
    )
