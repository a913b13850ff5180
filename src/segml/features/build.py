"""Point-in-time customer features (and labels): RFM and behaviour as of explicit cutoff days.

A cutoff is inclusive: every transaction on or before the cutoff day counts, nothing after it.
All cutoffs are built together from running totals (`segml.features.transactions`): each quantity is
summed once for every cutoff and window edge, and each feature is arithmetic on those totals.
Labels come from the same totals over the window after the cutoff, so they line up by construction.
The BG/NBD and Gamma-Gamma columns come from each cutoff's population fits
(`segml.features.population`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from segml.config import FeaturesConfig
from segml.data import schema as s
from segml.features import population
from segml.features.attributes import attribute_columns
from segml.features.population import PopulationFit
from segml.features.transactions import MONEY_UNITS, Levels, RunningTotals, TransactionIndex


@dataclass(frozen=True)
class Vocabulary:
    """Categorical levels fixed once, so every cutoff (and later scoring) has the same columns."""

    categories: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)  # category attribute: levels
    measures: dict[str, str] = field(default_factory=dict)  # other attributes: "number" | "date"
    plans: list[str] = field(default_factory=list)  # subscriptions: plans by the earliest cutoff
    usage_kinds: list[str] = field(default_factory=list)  # subscriptions: most used first

    def __setstate__(self, state: dict) -> None:  # models pickled before these fields existed
        defaults = {"measures": {}, "plans": [], "usage_kinds": []}
        object.__setattr__(self, "__dict__", {**defaults, **state})


def level_counts(levels: Levels | None, rows: np.ndarray) -> Counter:
    """How often each level occurs in the chosen rows (a boolean mask)."""
    if levels is None:
        return Counter()
    n = np.bincount(levels.codes[rows & (levels.codes >= 0)], minlength=len(levels.names))
    return Counter({name: int(c) for name, c in zip(levels.names, n) if c})


def most_common(counts: Counter, k: int) -> list[str]:
    """The k most common levels, ties by name."""
    return (
        [name for _, name in sorted((-n, name) for name, n in counts.items())[:k]] if k > 0 else []
    )


def fit_vocabulary(
    idx: TransactionIndex, cfg: FeaturesConfig, until_day: int | None = None
) -> Vocabulary:
    """The most common categories and channels (ties by name) in transactions up to `until_day`
    (all if None), and every level of each customer attribute."""
    early = vocabulary_rows(idx, until_day)
    table = idx.attributes
    attributes = (
        {column: levels.names for column, levels in table.categories.items()}
        if cfg.use_attributes
        else {}
    )
    return vocabulary_from(
        level_counts(idx.category, early),
        level_counts(idx.channel, early),
        attributes,
        cfg,
        table.measures if cfg.use_attributes else {},
    )


def vocabulary_rows(idx: TransactionIndex, until_day: int | None) -> np.ndarray:
    """The rows whose categories and channels are counted: those up to `until_day` (all if None)
    that move money. Free orders (zero amounts, kept by `data.drop_zero_amounts: false`) count
    for nothing in the features, so not here either."""
    early = idx.day <= until_day if until_day is not None else np.ones(len(idx.day), bool)
    return early & (idx.amount != 0)


def vocabulary_from(
    categories: Counter,
    channels: Counter,
    attributes: dict[str, list[str]],
    cfg: FeaturesConfig,
    measures: dict[str, str] | None = None,
) -> Vocabulary:
    """The vocabulary from level counts: the `cfg.top_*` most common, ties by name."""
    return Vocabulary(
        most_common(categories, cfg.top_categories),
        most_common(channels, cfg.top_channels),
        attributes,
        measures or {},
    )


@dataclass(frozen=True)
class Cutoff:
    """A day to build features at, and who gets a row there."""

    day: int
    active_within_days: int | None = (
        None  # only customers who bought this recently (None: all who ever bought)
    )


def build_features(
    idx: TransactionIndex,
    cutoffs: Sequence[int | Cutoff],
    cfg: FeaturesConfig,
    vocab: Vocabulary,
    horizon_days: int = 90,
    with_labels: bool = False,
    fits: dict[int, PopulationFit] | None = None,
) -> pd.DataFrame:
    """Features at each cutoff (a day number or a `Cutoff`), stacked in the order given: per
    cutoff, its customers in customer-code order. Columns: id, cutoff, numeric features,
    attribute categoricals[, labels].

    Trailing windows are `cfg.windows_days` plus `horizon_days` (the "last period" that upside
    is measured against). `with_labels` adds `churned` (no purchase in the `horizon_days` after the
    cutoff) and `future_value` (net spend in that window); they mean nothing for a cutoff whose
    window runs past the end of the data.

    `fits` (cutoff day -> `PopulationFit`): BG/NBD and Gamma-Gamma parameters fitted elsewhere on
    the whole population, for a partition of the customers (None: fitted here on `idx`).

    Customers with a single purchase get finite values: their mean gap is their tenure (the time
    they have gone without repeating), their gap spread is 0 and their recency ratio is 1.
    """
    cutoffs = [c if isinstance(c, Cutoff) else Cutoff(int(c)) for c in cutoffs]
    windows = sorted(set(cfg.windows_days) | {horizon_days})
    label_days = horizon_days if with_labels else None
    at_cutoff, at_edge = _running_totals(idx, [c.day for c in cutoffs], windows, label_days)
    # purchase days, and the days between them (their sum runs from first to last purchase day)
    purchase_days, gap_sum, gap_sq = (
        at_cutoff.sum(w) for w in (idx.day_start, idx.gap, idx.gap.astype(float) ** 2)
    )
    last_day = idx.first_purchase_day + gap_sum
    out = _select_customers(cutoffs, at_cutoff, purchase_days, last_day)
    tables = out.tables

    # BG/NBD fits run in a thread beside this one, which builds the other features meanwhile
    # (scipy's special functions and numpy's arithmetic release the GIL).
    with ThreadPoolExecutor(1) as worker:
        btyd = (
            _start_bgnbd(worker, tables, idx, purchase_days, last_day, horizon_days, fits)
            if cfg.use_bgnbd
            else []
        )
        gross_amount = np.where(idx.purchase, idx.amount, 0.0)
        gross = _add_rfm_columns(
            tables, idx, at_cutoff, purchase_days, gap_sum, gap_sq, gross_amount, cfg, fits
        )
        del gap_sum, gap_sq
        _add_windows(tables, idx, at_edge, windows, label_days)
        _add_level_shares(tables, idx, at_cutoff, vocab, gross_amount, gross)
        del gross_amount, gross
        _add_btyd(tables, btyd)
    return out.frame(idx, vocab if cfg.use_attributes else Vocabulary())


def _running_totals(
    idx: TransactionIndex, days: list[int], windows: list[int], label_days: int | None
) -> tuple[RunningTotals, RunningTotals]:
    """Running totals at each cutoff, and at every window edge: each trailing window's start and
    the start of the window before it (for trends), and with `label_days` the label window's end."""
    edges = {d - age for d in days for age in {0, *windows, *(2 * w for w in windows)}}
    if label_days:
        edges |= {d + label_days for d in days}
    return RunningTotals(idx, days), RunningTotals(idx, edges)


def _select_customers(
    cutoffs: list[Cutoff], at_cutoff: RunningTotals, purchase_days: np.ndarray, last_day: np.ndarray
) -> _Output:
    """Who gets a row at each cutoff: every customer who bought by then (and, when the cutoff
    says so, recently enough); one output table per cutoff, in the order given."""
    out = _Output()
    for c in cutoffs:
        j = at_cutoff.row(c.day)
        keep = purchase_days[j] > 0
        if c.active_within_days is not None:
            keep &= c.day - last_day[j] <= c.active_within_days
        out.table(c.day, np.flatnonzero(keep), j)
    return out


def _start_bgnbd(
    worker: ThreadPoolExecutor,
    tables: list[_Table],
    idx: TransactionIndex,
    purchase_days: np.ndarray,
    last_day: np.ndarray,
    horizon_days: int,
    fits: dict[int, PopulationFit] | None,
) -> list[Future]:
    """BG/NBD per cutoff on `worker` (`population.bgnbd_at`); `_add_btyd` collects the results."""
    return [
        worker.submit(
            population.bgnbd_at,
            t.cutoff,
            t.rows,
            purchase_days[t.j],
            last_day[t.j],
            idx.first_purchase_day,
            horizon_days,
            fits[t.cutoff] if fits else None,
        )
        for t in tables
    ]


def _add_rfm_columns(
    tables: list[_Table],
    idx: TransactionIndex,
    at_cutoff: RunningTotals,
    purchase_days: np.ndarray,
    gap_sum: np.ndarray,
    gap_sq: np.ndarray,
    gross_amount: np.ndarray,
    cfg: FeaturesConfig,
    fits: dict[int, PopulationFit] | None,
) -> np.ndarray:
    """RFM, gaps and refunds at each cutoff (and Gamma-Gamma's spend per purchase day, with
    BG/NBD on); returns gross spend per cutoff and customer, which the shares divide by."""
    gross, refunds, n_orders = (
        at_cutoff.sum(w) for w in (gross_amount, gross_amount - idx.amount, idx.order_start)
    )
    for t in tables:
        _add_rfm(t, idx, purchase_days, gap_sum, gap_sq, gross, refunds, n_orders)
        if cfg.use_bgnbd:
            fit = fits[t.cutoff] if fits else None
            spend = population.gamma_gamma_at(t.rows, purchase_days[t.j], gross[t.j], fit)
            t.put({"gg_expected_spend": spend})
    return gross


def _add_windows(
    tables: list[_Table],
    idx: TransactionIndex,
    at_edge: RunningTotals,
    windows: list[int],
    label_days: int | None,
) -> None:
    """Spend and purchase days in each trailing window (and the labels, with `label_days`)."""
    # one customers x edges total alive at a time: net spend, then purchase days
    spend = at_edge.sum(idx.amount)
    for t in tables:
        _add_spend_windows(t, spend, at_edge, windows, label_days)
    del spend
    days = at_edge.sum(idx.day_start)
    for t in tables:
        _add_purchase_day_windows(t, days, at_edge, windows, label_days)
    if label_days:
        _add_next_purchase(tables, idx, label_days)


def _add_next_purchase(tables: list[_Table], idx: TransactionIndex, label_days: int) -> None:
    """The label next_purchase_days: days from the cutoff to the first purchase day in
    (cutoff, cutoff + label_days], NaN when none (what the next purchase dates are measured on).
    Purchase days are found by one sorted search per cutoff on (customer, day) keys."""
    first_rows = np.flatnonzero(idx.day_start)
    step = np.int64(1) << 32  # above any day number
    key = idx.code[first_rows].astype(np.int64) * step + idx.day[first_rows]
    for t in tables:
        at = np.searchsorted(key, t.rows.astype(np.int64) * step + t.cutoff, side="right")
        found = np.minimum(at, len(key) - 1)
        days = key[found] - t.rows.astype(np.int64) * step - t.cutoff
        inside = (at < len(key)) & (days >= 1) & (days <= label_days)
        t.put({s.NEXT_PURCHASE: np.where(inside, days, np.nan)}, t.out.labels)


def _add_level_shares(
    tables: list[_Table],
    idx: TransactionIndex,
    at_cutoff: RunningTotals,
    vocab: Vocabulary,
    gross_amount: np.ndarray,
    gross: np.ndarray,
) -> None:
    """Share of spend per category (and how many categories were bought) and per channel, over
    the vocabulary's levels."""
    if idx.category is not None:
        _add_shares(
            tables,
            at_cutoff,
            "category",
            idx.category.recode(vocab.categories),
            vocab.categories,
            gross_amount,
            gross,
            idx.purchase,
        )
    if idx.channel is not None:
        _add_shares(
            tables,
            at_cutoff,
            "channel",
            idx.channel.recode(vocab.channels),
            vocab.channels,
            gross_amount,
            gross,
        )


def _add_btyd(tables: list[_Table], btyd: list[Future]) -> None:
    """BG/NBD's results (from `_start_bgnbd`), and the BTYD value estimate built from them."""
    for t, result in zip(tables, btyd):
        alive, expected, silent = result.result()
        t.put(
            {
                "bgnbd_p_alive": alive,
                "bgnbd_expected_purchases": expected,
                "bgnbd_p_no_purchase": silent,
                # trees approximate products poorly: give them the classic BTYD value estimate
                # (BG/NBD purchases x Gamma-Gamma spend per purchase) directly
                "bgnbd_expected_value": expected * t.get("gg_expected_spend"),
            }
        )


class _Output:
    """The stacked output columns, each allocated once at full length; every cutoff's `_Table`
    fills its own slice, so nothing is copied when the cutoffs are put together."""

    def __init__(self):
        self.tables: list[_Table] = []
        self.features: dict[str, np.ndarray] = {}
        self.labels: dict[str, np.ndarray] = {}

    def table(self, cutoff: int, rows: np.ndarray, j: int) -> _Table:
        """The next cutoff's slice; every table is declared before any column is written."""
        start = self.tables[-1].part.stop if self.tables else 0
        self.tables.append(_Table(cutoff, rows, j, self, slice(start, start + len(rows))))
        return self.tables[-1]

    @property
    def length(self) -> int:
        return self.tables[-1].part.stop if self.tables else 0

    def frame(self, idx: TransactionIndex, vocab: Vocabulary) -> pd.DataFrame:
        """id, cutoff, numeric features, attributes as of each cutoff (categoricals, then the
        others: `segml.features.attributes`), labels (no copies of the numbers)."""
        rows = np.concatenate([t.rows for t in self.tables])
        cutoffs = np.array([t.cutoff for t in self.tables]).astype(
            "datetime64[D]"
        )  # day numbers as dates
        return pd.DataFrame(
            {
                s.CUSTOMER_ID: idx.customer_ids[rows],
                s.CUTOFF: np.repeat(cutoffs, [len(t.rows) for t in self.tables]).astype(
                    "datetime64[s]"
                ),
                **self.features,
                **attribute_columns(
                    idx.attributes,
                    vocab.attributes,
                    vocab.measures,
                    [(t.cutoff, t.rows) for t in self.tables],
                ),
                **self.labels,
            },
            copy=False,
        )


@dataclass
class _Table:
    """One cutoff: its rows (customer codes), its row of the running totals and its output slice."""

    cutoff: int
    rows: np.ndarray
    j: int
    out: _Output
    part: slice

    def at(self, totals: np.ndarray) -> np.ndarray:
        """This table's rows of a cutoffs x customers total, at this cutoff."""
        return totals[self.j][self.rows]

    def put(
        self, columns: dict[str, np.ndarray], into: dict[str, np.ndarray] | None = None
    ) -> None:
        into = self.out.features if into is None else into
        for name, values in columns.items():
            if name not in into:
                into[name] = np.empty(self.out.length, dtype=np.asarray(values).dtype)
            into[name][self.part] = values

    def get(self, name: str) -> np.ndarray:
        return self.out.features[name][self.part]


def _add_rfm(
    t: _Table, idx: TransactionIndex, purchase_days, gap_sum, gap_sq, gross, refunds, n_orders
) -> None:
    frequency, gap_total, orders = t.at(purchase_days), t.at(gap_sum), t.at(n_orders)
    gross_t, refunds_t = t.at(gross) / MONEY_UNITS, t.at(refunds) / MONEY_UNITS
    first_day = idx.first_purchase_day[t.rows]
    repeats = frequency - 1
    tenure = t.cutoff - first_day
    recency = tenure - gap_total
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_mean = np.where(repeats > 0, gap_total / repeats, tenure)
        gap_var = np.where(repeats > 0, t.at(gap_sq) / np.maximum(repeats, 1) - gap_mean**2, 0.0)
        gap_std = np.sqrt(np.clip(gap_var, 0, None))
        t.put(
            {
                "recency_days": recency,
                "frequency": frequency,
                "n_orders": orders,
                "monetary_total": gross_t - refunds_t,
                "gross_spend": gross_t,
                "avg_order_value": np.where(orders > 0, gross_t / orders, 0.0),
                "tenure_days": tenure,
                "gap_mean_days": gap_mean,
                "gap_std_days": gap_std,
                "gap_cv": np.where(gap_mean > 0, gap_std / gap_mean, 0.0),
                "recency_gap_ratio": np.where(
                    repeats > 0, recency / np.maximum(gap_mean, 1.0), 1.0
                ),
                "refund_rate": np.where(gross_t > 0, refunds_t / gross_t, 0.0),
            }
        )


def _window_ends(
    t: _Table, totals: np.ndarray, at_edge: RunningTotals, offsets
) -> dict[int, np.ndarray]:
    """This table's rows of `totals` on the day cutoff + offset, for each offset (in days)."""
    return {offset: totals[at_edge.row(t.cutoff + offset)][t.rows] for offset in offsets}


def _add_spend_windows(
    t: _Table, spend: np.ndarray, at_edge: RunningTotals, windows: list[int], label_days: int | None
) -> None:
    """Net spend in (cutoff - w, cutoff] and its trend against the w days before; with
    `label_days`, the label future_value: net spend in (cutoff, cutoff + label_days]."""
    ends = {0, *(-w for w in windows), *(-2 * w for w in windows)} | (
        {label_days} if label_days else set()
    )
    at = _window_ends(t, spend, at_edge, ends)
    for w in windows:
        recent, before = at[0] - at[-w], at[-w] - at[-2 * w]
        denominator = np.abs(recent) + np.abs(before)
        with np.errstate(divide="ignore", invalid="ignore"):
            t.put(
                {
                    f"spend_{w}d": recent / MONEY_UNITS,
                    f"spend_trend_{w}d": np.where(
                        denominator > 0, (recent - before) / denominator, 0.0
                    ),
                }
            )
    if label_days:
        t.put({s.FUTURE_VALUE: (at[label_days] - at[0]) / MONEY_UNITS}, t.out.labels)


def _add_purchase_day_windows(
    t: _Table, days: np.ndarray, at_edge: RunningTotals, windows: list[int], label_days: int | None
) -> None:
    """Purchase days in (cutoff - w, cutoff]; with `label_days`, the label churned: no purchase
    day in (cutoff, cutoff + label_days]."""
    at = _window_ends(
        t, days, at_edge, {0, *(-w for w in windows)} | ({label_days} if label_days else set())
    )
    t.put({f"purchase_days_{w}d": at[0] - at[-w] for w in windows})
    if label_days:
        t.put({s.CHURNED: (at[label_days] == at[0]).astype(np.int8)}, t.out.labels)


def _add_shares(
    tables: list[_Table],
    at_cutoff: RunningTotals,
    prefix: str,
    level: np.ndarray,
    levels: list[str],
    gross_amount: np.ndarray,
    gross: np.ndarray,
    purchase: np.ndarray | None = None,
) -> None:
    """Share of gross spend per level; given `purchase`, also how many distinct levels were bought
    (`n_categories`; levels outside the vocabulary count as one)."""
    k = len(levels)
    if purchase is not None:
        bought = at_cutoff.sum_by_level(level, k, purchase)
        for t in tables:
            t.put({"n_categories": (bought[t.j][:, t.rows] > 0).sum(axis=0).astype(float)})
        del bought  # one customers x levels x cutoffs array at a time
    spend = at_cutoff.sum_by_level(level, k, gross_amount)
    for t in tables:
        total = t.at(gross)
        with np.errstate(divide="ignore", invalid="ignore"):
            t.put(
                {
                    f"{prefix}_share__{name}": np.where(
                        total > 0, spend[t.j, i][t.rows] / total, 0.0
                    )
                    for i, name in enumerate(level_names(levels))
                }
            )


# LightGBM refuses these in feature names; full-width look-alikes keep the name readable
_JSON_LOOKALIKES = str.maketrans(
    {'"': "＂", ",": "，", ":": "：", "[": "［", "]": "］", "{": "｛", "}": "｝", "\\": "＼"}
)
MAX_LEVEL_NAME = 60


def level_names(levels: list[str]) -> list[str]:
    """Column-safe names for user-supplied levels (categories, channels), in the same order.

    A plain name stays as it is. Characters LightGBM rejects become full-width look-alikes, line
    breaks and other invisible characters a space, and long names are cut; a changed name ends in
    a short hash of the original, so names are stable and stay distinct. The original labels are
    the `Vocabulary`'s, at the same positions.
    """
    names = []
    for level in levels:
        text = "".join(c if c.isprintable() else " " for c in str(level))
        text = text.translate(_JSON_LOOKALIKES)
        if text != level or len(text) > MAX_LEVEL_NAME:
            digest = hashlib.sha1(str(level).encode("utf-8")).hexdigest()[:6]
            text = f"{text[:MAX_LEVEL_NAME].strip()} #{digest}"
        names.append(text)
    return names


def level_labels(vocab: Vocabulary) -> dict[str, str]:
    """Share column name -> the user's own category or channel label, for display."""
    return {
        f"{prefix}_share__{name}": level
        for prefix, levels in (("category", vocab.categories), ("channel", vocab.channels))
        for name, level in zip(level_names(levels), levels)
    }


def with_vocabulary_levels(frame: pd.DataFrame, vocab: Vocabulary) -> pd.DataFrame:
    """Attribute columns as categoricals over the vocabulary's levels, as `build_features` makes
    them (part of a table read back may not hold every level)."""
    for column, levels in vocab.attributes.items():
        if f"attr_{column}" in frame:
            frame[f"attr_{column}"] = over_levels(frame[f"attr_{column}"], levels)
    if vocab.plans and s.PLAN in frame:  # subscribers' plan
        frame[s.PLAN] = over_levels(frame[s.PLAN], vocab.plans)
    return frame


def over_levels(values: pd.Series, levels: list) -> pd.Series:
    """`values` as a categorical over exactly `levels` (other values become missing). A
    categorical is recoded through its categories, not value by value (a million rows: 0.004 s
    instead of 0.08 s)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object).astype("category")
    return values.cat.set_categories(levels, ordered=False)  # LightGBM skips ordered ones


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Model inputs: everything except ids, dates and labels."""
    return [c for c in frame.columns if c not in (s.CUSTOMER_ID, s.CUTOFF, *s.LABEL_COLUMNS)]
