"""Point-in-time customer features: RFM and behaviour as of an explicit cutoff day.

A cutoff is inclusive: every transaction on or before the cutoff day counts, nothing after it.
The transactions are indexed once (integer customer codes and day numbers, sorted by customer
and time) so each cutoff is a handful of vectorised passes (`np.bincount`) over a prefix mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml import schema as s
from segml.bgnbd import BGNBD
from segml.config import FeaturesConfig

EPOCH = np.datetime64("1970-01-01", "D")


def to_day(value) -> int:
    """A date (string, Timestamp or datetime64) as a day number since 1970-01-01."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - EPOCH).astype(int))


def to_date(day: int) -> pd.Timestamp:
    return pd.Timestamp(EPOCH + np.timedelta64(int(day), "D"))


@dataclass(frozen=True)
class Vocabulary:
    """Categorical levels fixed once, so every cutoff (and later scoring) has the same columns."""

    categories: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)


def fit_vocabulary(tx: pd.DataFrame, customers: pd.DataFrame, cfg: FeaturesConfig) -> Vocabulary:
    """Most common categories/channels (ties by name) and all attribute levels, from `tx` given."""

    def top(column: str, k: int) -> list[str]:
        if column not in tx or k <= 0:
            return []
        counts = tx[column].dropna().value_counts()
        counts = counts.rename_axis("level").reset_index(name="n").sort_values(["n", "level"], ascending=[False, True])
        return [str(v) for v in counts["level"].head(k)]

    attributes = {}
    if cfg.use_attributes:
        for column in s.ATTRIBUTE_COLUMNS:
            if column in customers:
                attributes[column] = sorted(str(v) for v in customers[column].dropna().unique())
    return Vocabulary(top(s.CATEGORY, cfg.top_categories), top(s.CHANNEL, cfg.top_channels), attributes)


@dataclass(frozen=True)
class TransactionIndex:
    """Transactions as flat arrays, sorted by customer then time."""

    customer_ids: pd.Index  # code -> customer_id (text)
    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    purchase: np.ndarray  # amount > 0 (refunds are negative rows)
    order_start: np.ndarray  # first purchase row of an order
    day_start: np.ndarray  # first purchase row of a (customer, day)
    category: np.ndarray | None  # codes into categories, -1 = other/missing
    categories: list[str]
    channel: np.ndarray | None
    channels: list[str]
    attributes: dict[str, np.ndarray]  # per customer code: codes into vocab.attributes levels


def _level_codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Codes into `levels` (-1 for anything else), via one hash pass over the column."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    position = {level: i for i, level in enumerate(levels)}
    lookup = np.array([position.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[codes]  # code -1 (missing) picks the trailing -1


def _text_array(values: pd.Series):
    import pyarrow as pa

    return pa.array(values.astype("str"))


def _changes(values: pd.Series) -> np.ndarray:
    """Boolean per row: differs from the previous row (row 0 counts as a change). Missing = change."""
    import pyarrow.compute as pc

    arr = _text_array(values)
    if len(arr) < 2:
        return np.ones(len(arr), bool)
    differs = pc.fill_null(pc.not_equal(arr[1:], arr[:-1]), True)
    return np.r_[True, differs.to_numpy(zero_copy_only=False)]


def _sorted_codes(ids: pd.Series, ts_ns: np.ndarray) -> np.ndarray | None:
    """Customer codes without hashing when rows are already sorted by (customer_id, ts), as the
    prepare stage writes them; None when they are not."""
    import pyarrow.compute as pc

    arr = _text_array(ids)
    if len(arr) > 1 and not pc.all(pc.less_equal(arr[:-1], arr[1:])).as_py():
        return None
    new = _changes(ids)
    if not np.all((ts_ns[1:] >= ts_ns[:-1]) | new[1:]):
        return None
    return np.cumsum(new) - 1


def index_transactions(tx: pd.DataFrame, vocab: Vocabulary, customers: pd.DataFrame | None = None) -> TransactionIndex:
    """Flatten and sort once (numeric keys only: fast), so every cutoff is a prefix per customer.

    Input already sorted by customer and time (the prepare stage's output) is not sorted again.
    Customer attributes are aligned to the customer codes here, once, for every cutoff.
    """
    ts_ns = tx[s.TS].to_numpy().astype("datetime64[ns]").astype(np.int64)
    has_orders = s.ORDER_ID in tx and tx[s.ORDER_ID].notna().any()
    customer_code = _sorted_codes(tx[s.CUSTOMER_ID], ts_ns)
    if customer_code is not None:
        order = np.arange(len(tx))
        customer_ids = tx[s.CUSTOMER_ID].to_numpy()[np.flatnonzero(np.r_[True, np.diff(customer_code) > 0])] \
            if len(tx) else np.array([], dtype=object)
    else:
        customer_code, customer_ids = pd.factorize(tx[s.CUSTOMER_ID], sort=True)
        keys = [ts_ns, customer_code]
        if has_orders:  # lines of one order end up next to each other
            keys.insert(0, pd.factorize(tx[s.ORDER_ID])[0])
        order = np.lexsort(keys)
    day_all = (tx[s.TS].to_numpy().astype("datetime64[D]") - EPOCH).astype(np.int64)
    code = customer_code[order].astype(np.int64)
    day = day_all[order]
    amount = tx[s.AMOUNT].to_numpy(dtype=float)[order]
    purchase = amount > 0

    # "first row of a group" flags among purchase rows; valid for any cutoff because every
    # cutoff keeps a time-ordered prefix of each customer's rows.
    p_idx = np.flatnonzero(purchase)
    p_code, p_day = code[p_idx], day[p_idx]
    new_customer = np.r_[True, p_code[1:] != p_code[:-1]]
    day_start = np.zeros(len(code), bool)
    day_start[p_idx] = new_customer | np.r_[True, p_day[1:] != p_day[:-1]]
    order_start = purchase.copy()
    if has_orders:  # a new order starts where the order id changes between purchase rows
        orders = tx[s.ORDER_ID].iloc[order[p_idx]].reset_index(drop=True)
        order_start[p_idx] = new_customer | _changes(orders)

    def codes(column: str, levels: list[str]) -> np.ndarray | None:
        return _level_codes(tx[column], levels)[order] if column in tx else None

    attributes = {}
    if customers is not None and vocab.attributes:
        position = pd.Index(customers[s.CUSTOMER_ID]).get_indexer(pd.Index(customer_ids))
        for column, levels in vocab.attributes.items():
            level = _level_codes(customers[column], levels) if column in customers else np.full(len(customers), -1)
            attributes[column] = np.where(position >= 0, np.r_[level, -1][position], -1)
    return TransactionIndex(
        pd.Index(customer_ids, dtype="str"), code, day, amount, purchase, order_start, day_start,
        codes(s.CATEGORY, vocab.categories), vocab.categories, codes(s.CHANNEL, vocab.channels), vocab.channels,
        attributes,
    )


def _per_customer(n: int, code: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(code, weights=weights, minlength=n)[:n].astype(float)


def _last_in_group(code: np.ndarray, values: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full(n, fill, dtype=float)
    if len(code):
        last = np.r_[code[1:] != code[:-1], True]
        out[code[last]] = values[last]
    return out


def _first_in_group(code: np.ndarray, values: np.ndarray, n: int, fill: float) -> np.ndarray:
    out = np.full(n, fill, dtype=float)
    if len(code):
        first = np.r_[True, code[1:] != code[:-1]]
        out[code[first]] = values[first]
    return out


def _level_matrix(code: np.ndarray, level: np.ndarray, weights: np.ndarray, n: int, k: int) -> np.ndarray:
    """n x (k + 1) sums per customer and level; the last column collects unknown levels (-1)."""
    flat = code * (k + 1) + np.where(level >= 0, level, k)
    return np.bincount(flat, weights=weights, minlength=n * (k + 1))[: n * (k + 1)].reshape(n, k + 1)


def _share_columns(prefix: str, levels: list[str], spend: np.ndarray, total: np.ndarray) -> dict[str, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total[:, None] > 0, spend[:, : len(levels)] / total[:, None], 0.0)
    return {f"{prefix}_share__{name}": shares[:, j] for j, name in enumerate(levels)}


def customers_at(idx: TransactionIndex, cutoff_day: int) -> np.ndarray:
    """Mask over customer codes: who has a purchase on or before the cutoff (the feature rows)."""
    seen = (idx.day <= cutoff_day) & idx.day_start
    return np.bincount(idx.code[seen], minlength=len(idx.customer_ids))[: len(idx.customer_ids)] > 0


def build_features(
    idx: TransactionIndex,
    cutoff_day: int,
    cfg: FeaturesConfig,
    vocab: Vocabulary,
    extra_windows: tuple[int, ...] = (),
    horizon_days: int = 90,
) -> pd.DataFrame:
    """Features for every customer with a purchase on or before `cutoff_day`; nothing after it.

    Customers with a single purchase get finite values: their mean gap is their tenure (the time
    they have gone without repeating), their gap spread is 0 and their recency ratio is 1.
    """
    n = len(idx.customer_ids)
    seen = idx.day <= cutoff_day
    code, day, amount = idx.code[seen], idx.day[seen], idx.amount[seen]
    purchase = idx.purchase[seen]
    gross_amount = np.where(purchase, amount, 0.0)

    gross = _per_customer(n, code, gross_amount)
    refunds = _per_customer(n, code, np.where(purchase, 0.0, -amount))
    n_orders = _per_customer(n, code, idx.order_start[seen])
    day_start = idx.day_start[seen]
    frequency = _per_customer(n, code, day_start)

    ds_code, ds_day = code[day_start], day[day_start]
    first_day = _first_in_group(ds_code, ds_day, n, np.nan)
    last_day = _last_in_group(ds_code, ds_day, n, np.nan)
    keep = frequency > 0
    # gap statistics from consecutive purchase days of the same customer
    same = np.r_[False, ds_code[1:] == ds_code[:-1]]
    gaps = np.diff(ds_day, prepend=0).astype(float)
    gap_sq = _per_customer(n, ds_code, np.where(same, gaps**2, 0.0))
    repeats = frequency - 1
    tenure = cutoff_day - first_day
    recency = cutoff_day - last_day
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_mean = np.where(repeats > 0, (last_day - first_day) / repeats, tenure)
        gap_var = np.where(repeats > 0, gap_sq / np.maximum(repeats, 1) - gap_mean**2, 0.0)
        gap_std = np.sqrt(np.clip(gap_var, 0, None))
        gap_cv = np.where(gap_mean > 0, gap_std / gap_mean, 0.0)
        recency_ratio = np.where(repeats > 0, recency / np.maximum(gap_mean, 1.0), 1.0)
        refund_rate = np.where(gross > 0, refunds / gross, 0.0)
        aov = np.where(n_orders > 0, gross / n_orders, 0.0)

    cols: dict[str, np.ndarray] = {
        "recency_days": recency,
        "frequency": frequency,
        "n_orders": n_orders,
        "monetary_total": gross - refunds,
        "gross_spend": gross,
        "avg_order_value": aov,
        "tenure_days": tenure,
        "gap_mean_days": gap_mean,
        "gap_std_days": gap_std,
        "gap_cv": gap_cv,
        "recency_gap_ratio": recency_ratio,
        "refund_rate": refund_rate,
    }
    # All trailing windows in one pass: bucket each row by how many window edges (w and 2w) lie at
    # or before its age, sum per (customer, bucket), then cumulative sums give every window.
    windows = sorted(set(cfg.windows_days) | set(extra_windows))
    edges = sorted(set(windows) | {2 * w for w in windows})
    bucket = np.searchsorted(np.asarray(edges), cutoff_day - day, side="right")
    spend_by_age = np.cumsum(_level_matrix(code, bucket, amount, n, len(edges)), axis=1)
    days_by_age = np.cumsum(_level_matrix(code, bucket, day_start.astype(float), n, len(edges)), axis=1)
    for w in windows:
        recent, older = edges.index(w), edges.index(2 * w)
        spend = spend_by_age[:, recent]
        spend_before = spend_by_age[:, older] - spend
        cols[f"purchase_days_{w}d"] = days_by_age[:, recent]
        cols[f"spend_{w}d"] = spend
        denominator = np.abs(spend) + np.abs(spend_before)
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[f"spend_trend_{w}d"] = np.where(denominator > 0, (spend - spend_before) / denominator, 0.0)

    if idx.category is not None:
        k = len(idx.categories)
        spend_by_level = _level_matrix(code, idx.category[seen], gross_amount, n, k)
        rows_by_level = _level_matrix(code, idx.category[seen], purchase.astype(float), n, k)
        # distinct categories bought (all levels outside the vocabulary count as one)
        cols["n_categories"] = (rows_by_level > 0).sum(axis=1).astype(float)
        cols.update(_share_columns("category", idx.categories, spend_by_level, gross))
    if idx.channel is not None:
        spend_by_level = _level_matrix(code, idx.channel[seen], gross_amount, n, len(idx.channels))
        cols.update(_share_columns("channel", idx.channels, spend_by_level, gross))

    for column, levels in vocab.attributes.items():
        if cfg.use_attributes and column in idx.attributes:
            cols[f"attr_{column}"] = pd.Categorical.from_codes(idx.attributes[column], categories=levels)
    frame = pd.DataFrame({s.CUSTOMER_ID: idx.customer_ids[keep]})
    frame = pd.concat([frame, pd.DataFrame(cols).loc[keep].reset_index(drop=True)], axis=1)

    if cfg.use_bgnbd:
        frame = _add_bgnbd(frame, horizon_days)
    frame.insert(1, s.CUTOFF, to_date(cutoff_day))
    return frame


def _add_bgnbd(frame: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """BG/NBD fitted on this cutoff's customers only (so it cannot see the future)."""
    x = frame["frequency"].to_numpy() - 1
    T = frame["tenure_days"].to_numpy()
    t_x = T - frame["recency_days"].to_numpy()
    frame = frame.copy()
    if len(frame) < 20:  # too few customers to fit four parameters
        frame["bgnbd_p_alive"] = 1.0
        frame["bgnbd_expected_purchases"] = 0.0
        frame["bgnbd_p_no_purchase"] = 0.5
        frame["bgnbd_expected_value"] = 0.0
        return frame
    model = BGNBD().fit(x, t_x, T)
    frame["bgnbd_p_alive"] = model.p_alive(x, t_x, T)
    frame["bgnbd_expected_purchases"] = model.expected_purchases(horizon_days, x, t_x, T)
    frame["bgnbd_p_no_purchase"] = model.p_no_purchase(horizon_days, x, t_x, T)
    # trees approximate products poorly: give them the classic BTYD value estimate directly
    frame["bgnbd_expected_value"] = frame["bgnbd_expected_purchases"] * frame["avg_order_value"]
    return frame


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Model inputs: everything except ids, dates and labels."""
    return [c for c in frame.columns if c not in (s.CUSTOMER_ID, s.CUTOFF, s.CHURNED, s.FUTURE_VALUE)]
