"""Transactions as flat arrays sorted by customer and time, and per-customer running totals.

Every feature and label is built from sums over a customer's rows up to some day (spend, purchase
days, orders, gaps, ...). So the transactions are indexed once, and `RunningTotals` answers a sum
for every customer at every cutoff in one pass over the rows, however many cutoffs there are.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.data import schema as s
from segml.features.attributes import AttributeTable, attribute_table
from segml.features.levels import Levels, text_levels
from segml.features.levels import arrow_text as _arrow

EPOCH = np.datetime64("1970-01-01", "D")
# Money is summed in whole units of 1/10,000 of the currency (held exactly in float64), so a total
# never depends on the order rows were added in and a refund cancels its purchase exactly.
MONEY_UNITS = 10_000


def to_day(value) -> int:
    """A date (string, Timestamp or datetime64) as a day number since 1970-01-01."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - EPOCH).astype(int))


def to_date(day: int) -> pd.Timestamp:
    return pd.Timestamp(EPOCH + np.timedelta64(int(day), "D"))


@dataclass(frozen=True)
class TransactionIndex:
    """Transactions as flat arrays, sorted by customer then time, plus customer attributes."""

    customer_ids: pd.Index  # code -> customer_id (text)
    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray  # in MONEY_UNITS per currency unit, whole numbers
    purchase: np.ndarray  # amount > 0 (refunds are negative rows)
    order_start: np.ndarray  # first purchase row of an order
    day_start: np.ndarray  # first purchase row of a (customer, day)
    gap: (
        np.ndarray
    )  # on day_start rows: days since the customer's previous purchase day (0 on the first)
    first_purchase_day: np.ndarray  # per customer code (NaN if the customer only has refunds)
    category: Levels | None  # per row
    channel: Levels | None  # per row
    attributes: AttributeTable  # the customer table by customer code (`features.attributes`)

    def __len__(self) -> int:
        return len(self.customer_ids)


def _starts(values: np.ndarray) -> np.ndarray:
    """Per row: differs from the previous row (row 0 counts as a change)."""
    starts = np.ones(len(values), bool)
    starts[1:] = values[1:] != values[:-1]
    return starts


def _differs_from_previous(values: pa.ChunkedArray) -> np.ndarray:
    """Per row: differs from the previous row (row 0 counts as a change). Missing = change."""
    if len(values) < 2:
        return np.ones(len(values), bool)
    differs = pc.fill_null(pc.not_equal(values[1:], values[:-1]), True)
    return np.r_[True, differs.to_numpy()]


def _sorted_starts(ids: pa.ChunkedArray, ts: np.ndarray) -> np.ndarray | None:
    """Per row: first row of a customer, without hashing, when rows are already sorted by
    (customer_id, ts) as the prepare stage writes them; None when they are not."""
    if len(ids) > 1 and not pc.all(pc.less_equal(ids[:-1], ids[1:])).as_py():
        return None
    new = _differs_from_previous(ids)
    if not np.all((ts[1:] >= ts[:-1]) | new[1:]):
        return None
    return new


def index_transactions(tx: pd.DataFrame, customers: pd.DataFrame | None = None) -> TransactionIndex:
    """Flatten and sort once (numeric keys only: fast), so every cutoff is a prefix per customer.

    Input already sorted by customer and time (the prepare stage's output) is not sorted again.
    Customer attributes are aligned to the customer codes here, once, for every cutoff.
    """
    ts = tx[s.TS].to_numpy()
    customer_code, id_array, order = _customer_codes(tx, ts)

    def sort(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    # Arrow hashes the text columns in a thread (it releases the GIL) while numpy does the rest here
    with ThreadPoolExecutor(1) as pool:
        text = {
            column: pool.submit(text_levels, tx[column], order)
            for column in (s.CATEGORY, s.CHANNEL)
            if column in tx
        }
        attributes = pool.submit(attribute_table, id_array, customers)
        code = sort(customer_code).astype(np.int64)
        day = sort(ts.astype("datetime64[D]").view(np.int64))
        amount = np.round(sort(tx[s.AMOUNT].to_numpy(dtype=float)) * MONEY_UNITS)
        purchase = amount > 0
        orders = None
        if s.ORDER_ID in tx and tx[s.ORDER_ID].notna().any():
            orders = (
                _arrow(tx[s.ORDER_ID])
                if order is None
                else _arrow(tx[s.ORDER_ID]).take(pa.array(order))
            )
        flags = _purchase_flags(code, day, purchase, orders, len(id_array))
    category, channel = (text[c].result() if c in text else None for c in (s.CATEGORY, s.CHANNEL))
    return TransactionIndex(
        pd.Index(id_array.to_pandas(), dtype="str"),
        code,
        day,
        amount,
        purchase,
        *flags,
        category,
        channel,
        attributes.result(),
    )


def _customer_codes(
    tx: pd.DataFrame, ts: np.ndarray
) -> tuple[np.ndarray, pa.ChunkedArray, np.ndarray | None]:
    """Per row a customer code (codes follow customer_id order), the ids by code, and the row order
    that sorts by customer then time (None when the rows already are)."""
    ids = _arrow(tx[s.CUSTOMER_ID])
    starts = _sorted_starts(ids, ts.view(np.int64))
    if starts is not None:
        return np.cumsum(starts) - 1, ids.take(pa.array(np.flatnonzero(starts))), None
    customer_code, uniques = pd.factorize(tx[s.CUSTOMER_ID], sort=True)
    keys = [ts.view(np.int64), customer_code]
    if s.ORDER_ID in tx:  # lines of one order end up next to each other
        keys.insert(0, pd.factorize(tx[s.ORDER_ID])[0])
    return customer_code, _arrow(pd.Series(uniques)), np.lexsort(keys)


def _purchase_flags(
    code: np.ndarray, day: np.ndarray, purchase: np.ndarray, orders: pa.ChunkedArray | None, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """order_start, day_start, gap and first_purchase_day (see TransactionIndex).

    "First row of a group" flags among purchase rows stay valid for any cutoff, because every
    cutoff keeps a time-ordered prefix of each customer's rows.
    """
    p_idx = np.flatnonzero(purchase)
    p_code, p_day = code[p_idx], day[p_idx]
    new_customer = _starts(p_code)
    day_start = np.zeros(len(code), bool)
    day_start[p_idx] = new_customer | _starts(p_day)
    gap = np.zeros(len(code), np.int64)
    gap[p_idx] = np.where(
        new_customer, 0, np.diff(p_day, prepend=0)
    )  # purchase days add 0 on repeat rows
    first_purchase_day = np.full(n, np.nan)
    first_purchase_day[p_code[new_customer]] = p_day[new_customer]
    order_start = purchase.copy()
    if orders is not None:  # a new order starts where the order id changes between purchase rows
        changed = _differs_from_previous(orders)[p_idx]  # against the row before, purchase or not
        apart = np.flatnonzero(np.diff(p_idx) > 1) + 1  # purchase rows with a refund row in between
        if len(apart):
            differs = pc.not_equal(
                orders.take(pa.array(p_idx[apart])), orders.take(pa.array(p_idx[apart - 1]))
            )
            changed[apart] = pc.fill_null(differs, True).to_numpy()
        order_start[p_idx] = new_customer | changed
    return order_start, day_start, gap, first_purchase_day


class RunningTotals:
    """Per-customer sums over the rows on or before each of a set of days, every day in one pass.

    Each row is bucketed by the first of the days it counts towards; one bincount per quantity
    gives the sum per (bucket, customer), and a cumulative sum across buckets turns those into
    totals as of each day. Sums over a window (d1, d2] are differences of two totals. Results are
    laid out day-major (one contiguous row of customers per day) so reading a day is cheap.
    """

    def __init__(self, idx: TransactionIndex, days: Iterable[int]):
        self.days = np.unique(np.fromiter(days, dtype=np.int64))
        self._idx = idx
        self._width = len(self.days) + 1  # the last bucket holds rows after every day
        self._bucket = np.searchsorted(self.days, idx.day, side="left")
        self._flat = self._bucket * len(idx) + idx.code
        self._row = {int(d): i for i, d in enumerate(self.days)}

    def row(self, day: int) -> int:
        """Where `day` is in the first axis of every result."""
        return self._row[int(day)]

    def sum(self, weights: np.ndarray) -> np.ndarray:
        """days x customers: the sum of `weights` over each customer's rows up to each day."""
        n = len(self._idx)
        return self._cumulative(
            np.bincount(self._flat, weights, minlength=self._width * n).reshape(self._width, n)
        )

    def sum_by_level(self, level: np.ndarray, k: int, weights: np.ndarray) -> np.ndarray:
        """days x (k + 1) levels x customers; the last level collects codes outside the k levels (-1)."""
        n = len(self._idx)
        flat = (self._bucket * (k + 1) + np.where(level >= 0, level, k)) * n + self._idx.code
        return self._cumulative(
            np.bincount(flat, weights, minlength=self._width * (k + 1) * n).reshape(
                self._width, k + 1, n
            )
        )

    @staticmethod
    def _cumulative(per_bucket: np.ndarray) -> np.ndarray:
        for i in range(
            1, len(per_bucket) - 1
        ):  # whole contiguous rows at a time: far faster than cumsum(axis=0)
            np.add(per_bucket[i], per_bucket[i - 1], out=per_bucket[i])
        return per_bucket[:-1]
