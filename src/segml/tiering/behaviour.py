"""What each customer did, in their own units: the facts reasons are phrased from.

A reason tells a sales agent what the customer did (days since the last purchase against their
usual gap, purchases and spend in the last 90 days against the 90 before, refunds, the category and
channel they buy most, since when they are a customer), never what a model thinks. These facts are
read from the snapshot's own behaviour columns, one vectorised column each; a fact the snapshot
cannot give (a window that is not configured, a customer with one purchase has no usual gap) is
missing, and a phrase that needs it is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.data import schema as s

# facts also said against the other customers: `<fact>_percentile`, the share of customers (an
# evenly spaced sample of them, `segml.tiering.attribution.Guide`) below this one
RANKED = ("value_spend", "frequency", "tenure_days")
CATEGORY_PREFIX = "category_share__"
CHANNEL_PREFIX = "channel_share__"
ATTRIBUTE_PREFIX = "attr_"


def column_of(snap: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric snapshot column as floats, all missing when the snapshot lacks it."""
    if name not in snap:
        return np.full(len(snap), np.nan)
    return snap[name].to_numpy(dtype=float, na_value=np.nan)


def dates_before(snap: pd.DataFrame, days: np.ndarray) -> np.ndarray:
    """The as-of date minus `days`, as YYYY-MM-DD text (missing where `days` is)."""
    if s.CUTOFF not in snap or not len(snap):
        return np.full(len(snap), None, dtype=object)
    cutoff = pd.to_datetime(snap[s.CUTOFF]).to_numpy(dtype="datetime64[D]")
    known = ~np.isnan(days)
    out = np.full(len(snap), None, dtype=object)
    dates = cutoff[known] - days[known].astype("int64").astype("timedelta64[D]")
    codes, uniques = pd.factorize(dates)
    out[known] = np.array([str(d) for d in uniques.astype("datetime64[D]")], dtype=object)[codes]
    return out


def _top_level(snap: pd.DataFrame, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """The level (category or channel) with the largest share of a customer's spend, and that
    share; missing when the customer has none of the configured levels."""
    columns = [c for c in snap.columns if c.startswith(prefix)]
    if not columns:
        return np.full(len(snap), None, dtype=object), np.full(len(snap), np.nan)
    shares = np.nan_to_num(snap[columns].to_numpy(dtype=float, na_value=0.0))
    best = shares.argmax(axis=1)  # ties: the level listed first (the vocabulary's most common)
    share = shares[np.arange(len(snap)), best]
    names = np.array([c.removeprefix(prefix) for c in columns], dtype=object)[best]
    return np.where(share > 0, names, None), np.where(share > 0, share, np.nan)


@dataclass(frozen=True)
class Facts:
    """Per customer, the facts phrases may name (`columns`, in the snapshot's row order), and the numbers
    that are the same for everyone (`context`: the windows and the churn horizon, in days)."""

    columns: dict[str, np.ndarray]
    context: dict[str, int]
    rows: int
    # text facts in the reader's language: fact -> {value as written: {language: words}}
    # (`tiering.value_words`); a value not mapped reads as written
    words: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)  # what phrases work out once per fact

    def __len__(self) -> int:
        return self.rows

    def saying(self, words: dict) -> Facts:
        """The same facts, text said in `words` (fact -> {value: {language: words}})."""
        return Facts(self.columns, self.context, self.rows, words)

    def values(self, name: str, language: str | None = None) -> np.ndarray | int | None:
        """A fact's values (an array per customer, or one number from `context`), text in
        `language`'s words where mapped; None if unknown."""
        if name in self.context:
            return self.context[name]
        values, words = self.columns.get(name), self.words.get(name)
        if values is None or language is None or not words:
            return values
        key = ("said", name, language)
        if key not in self.cache:  # each distinct value looked up once
            codes, uniques = pd.factorize(values)
            said = [words.get(str(u), {}).get(language, u) for u in uniques]
            self.cache[key] = np.array([*said, None], dtype=object)[codes]
        return self.cache[key]

    def known(self, name: str) -> np.ndarray | bool:
        """Where a fact is known (True for a `context` number, False for an unknown fact)."""
        if name in self.context:
            return True
        if name not in self.columns:
            return False
        key = ("known", name)
        if key not in self.cache:
            values = self.columns[name]
            self.cache[key] = pd.notna(values) if values.dtype == object else ~np.isnan(values)
        return self.cache[key]


def behaviour_facts(
    snap: pd.DataFrame, window_days: int, value_window_days: int, horizon_days: int
) -> Facts:
    """Per customer (the snapshot's rows, in order): the facts reason phrases may name.

    `window_days` is the recent window compared with the one before it ("the last 90 days against
    the 90 before": needs the snapshot's `window_days` and twice that windows); `value_window_days`
    is the window of the current value.
    """
    recency = column_of(snap, "recency_days")
    frequency = column_of(snap, "frequency")
    gap = np.where(frequency >= 2, column_of(snap, "gap_mean_days"), np.nan)
    w, value_w = window_days, value_window_days
    days_recent = column_of(snap, f"purchase_days_{w}d")
    spend_recent = column_of(snap, f"spend_{w}d")
    days_before = column_of(snap, f"purchase_days_{2 * w}d") - days_recent
    spend_before = column_of(snap, f"spend_{2 * w}d") - spend_recent
    value_spend = column_of(snap, f"spend_{value_w}d")
    if np.isnan(value_spend).all():
        value_spend = column_of(snap, "monetary_total")
    gross, net = column_of(snap, "gross_spend"), column_of(snap, "monetary_total")
    top_category, category_share = _top_level(snap, CATEGORY_PREFIX)
    top_channel, channel_share = _top_level(snap, CHANNEL_PREFIX)
    with np.errstate(divide="ignore", invalid="ignore"):
        facts = {
            "recency_days": recency,
            "frequency": frequency,
            "n_orders": column_of(snap, "n_orders"),
            "gap_mean_days": gap,
            "gap_std_days": np.where(frequency >= 3, column_of(snap, "gap_std_days"), np.nan),
            "gap_ratio": recency / np.maximum(gap, 1.0),
            "tenure_days": column_of(snap, "tenure_days"),
            "last_purchase": dates_before(snap, recency),
            "first_purchase": dates_before(snap, column_of(snap, "tenure_days")),
            "days_recent": days_recent,
            "spend_recent": spend_recent,
            "days_before": days_before,
            "spend_before": spend_before,
            "spend_change": spend_recent - spend_before,
            "value_spend": value_spend,
            "value_days": column_of(snap, f"purchase_days_{value_w}d"),
            "monetary_total": net,
            "avg_order_value": column_of(snap, "avg_order_value"),
            "refunds": gross - net,
            "refund_rate": column_of(snap, "refund_rate"),
            "n_categories": column_of(snap, "n_categories"),
            "top_category": top_category,
            "top_category_share": category_share,
            "top_channel": top_channel,
            "top_channel_share": channel_share,
        }
    facts |= attribute_facts(snap)
    return Facts(facts, facts_context(w, value_w, horizon_days), len(snap))


def attribute_facts(snap: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> dict:
    """Customer attributes (and `text_columns`) as reasons say them: categories as text, typed
    numbers, yes/no (1/0) and days rounded to 2 places."""
    facts = {}
    for column in snap.columns:
        if column.startswith(ATTRIBUTE_PREFIX) or column in text_columns:
            numeric = pd.api.types.is_numeric_dtype(snap[column])
            facts[column] = np.round(column_of(snap, column), 2) if numeric else _text(snap[column])
    return facts


def facts_context(window_days: int, value_window_days: int, horizon_days: int) -> dict:
    """The windows reason phrases name (`{window_days}` ...)."""
    return {
        "window_days": window_days,
        "before_days": 2 * window_days,
        "value_window_days": value_window_days,
        "horizon_days": horizon_days,
    }


def _text(values: pd.Series) -> np.ndarray:
    """A column as text per customer (each distinct value converted once); missing or empty is None."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    names = np.array([str(u) if str(u) != "" else None for u in uniques] + [None], dtype=object)
    return names[np.where(codes < 0, len(uniques), codes)]


def with_percentiles(facts: Facts, ranks: dict[str, np.ndarray]) -> Facts:
    """`facts` with `<fact>_percentile` for each ranked fact: the share of the reference values
    (sorted) strictly below the customer's (missing where the fact is)."""
    columns = dict(facts.columns)
    for name, reference in ranks.items():
        values = facts.columns.get(name)
        if values is None or not len(reference):
            continue
        below = np.searchsorted(reference, values, side="left") / len(reference)
        columns[f"{name}_percentile"] = np.where(np.isnan(values), np.nan, below)
    return Facts(columns, facts.context, facts.rows, facts.words)


def reference_ranks(facts: Facts) -> dict[str, np.ndarray]:
    """The sorted known values of each ranked fact (of a sample of customers)."""
    out = {}
    for name in RANKED:
        values = facts.columns.get(name)
        if values is not None:
            out[name] = np.sort(values[~np.isnan(values)])
    return out
