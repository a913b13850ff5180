"""Point-in-time features and observed labels of subscribers (data.kind: subscriptions).

Who gets a row at cutoff c: every customer with a running spell at c (the population at risk).
Features read spells as known at c (`spells.at_cutoff`) and payments and usage on or before c;
labels look at (c, c + H] (docs/design-subscriptions.md, sections 5 and 6). The output is the
features stage's `Datasets`, on the same cutoff schedule as transactions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from segml.config import DataConfig, FeaturesConfig, LabelsConfig
from segml.data import schema as s
from segml.features.attributes import AttributeTable, attribute_table
from segml.features.attributes import attribute_columns as attributes_at
from segml.features.build import Vocabulary
from segml.features.datasets import (
    Datasets,
    LabelCounts,
    checked_summary,
    fitted_schedule,
    newest_fold,
    resolve_as_of,
    rows_at,
    vocabulary_day,
)
from segml.features.events import (
    Events,
    index_events,
    payment_windows,
    usage_kinds,
    usage_windows,
)
from segml.features.schedule import first_purchase_counts
from segml.features.spells import (
    NEVER,
    AtCutoff,
    Spells,
    at_cutoff,
    coverage_runs,
    index_spells,
    per_row,
    revenue_between,
    spell_labels,
    term_end,
)
from segml.features.subscription_settings import Settings
from segml.features.transactions import to_date


@dataclass(frozen=True)
class SubscriberIndex:
    """The prepared subscriber tables, indexed once for every cutoff."""

    spells: Spells
    payments: Events | None
    usage: Events | None
    attributes: AttributeTable = field(default_factory=AttributeTable)  # by customer code

    @property
    def last_day(self) -> int:
        """The latest day any table knows of (starts, payments, usage; not scheduled ends)."""
        days = [self.spells.start.max()] + [e.day.max() for e in self.events if len(e.day)]
        return int(max(days))

    @property
    def first_day(self) -> int:
        """Where the history the features read begins: the event logs' first day when there are
        any (a spell may have started years before the export), else the first start."""
        firsts = [int(e.day.min()) for e in self.events if len(e.day)]
        return max(firsts) if firsts else int(self.spells.start.min())

    @property
    def events(self) -> list[Events]:
        return [e for e in (self.payments, self.usage) if e is not None]


def index_subscribers(
    subscriptions: pd.DataFrame,
    payments: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
) -> SubscriberIndex:
    spells = index_spells(subscriptions)
    ids = pa.chunked_array([pa.array(spells.customer_ids.to_numpy(str))])
    return SubscriberIndex(
        spells,
        index_events(payments, spells.customer_ids),
        index_events(usage, spells.customer_ids),
        attribute_table(ids, customers),
    )


def fit_vocabulary(idx: SubscriberIndex, cfg: FeaturesConfig, until_day: int) -> Vocabulary:
    """Levels fixed once: plans and usage kinds seen by `until_day` (the earliest cutoff), every
    level of each customer attribute (as for transactions)."""
    plans = sorted(set(idx.spells.plan[idx.spells.start <= until_day]) - {""})
    table = idx.attributes if cfg.use_attributes else AttributeTable()
    return Vocabulary(
        attributes={name: levels.names for name, levels in table.categories.items()},
        measures=table.measures,
        plans=plans,
        usage_kinds=usage_kinds(idx.usage, until_day),
    )


def tenure_columns(at: AtCutoff, grace: int) -> tuple[dict, np.ndarray]:
    """Tenure of the current coverage run, days since the first start, earlier runs; and per
    output row the current run's start."""
    n, rows = len(at.customers), at.rows()
    number, run_start, _ = coverage_runs(at.take("code"), at.take("start"), at.end, grace)
    now = at.running
    first = per_row(rows, at.take("start"), n, np.minimum, NEVER)
    current_start = per_row(rows[now], run_start[now], n, np.minimum, NEVER)
    previous = per_row(rows[now], number[now], n, np.maximum, -1)
    return {
        "tenure_days": (at.day - current_start).astype(float),
        "customer_since_days": (at.day - first).astype(float),
        "previous_cancellations": previous.astype(float),
    }, current_start


def main_spells(at: AtCutoff) -> np.ndarray:
    """Per output row, the position among the seen spells of its main running one: the highest
    recurring revenue, ties by subscription."""
    r = np.flatnonzero(at.running)
    rows, mrr, sub = at.rows()[r], at.take("mrr")[r], at.take("sub")[r]
    order = np.lexsort((sub, -mrr, rows))
    first = np.r_[True, rows[order][1:] != rows[order][:-1]]
    main = np.empty(len(at.customers), np.int64)
    main[rows[order][first]] = r[order[first]]
    return main


def contract_columns(at: AtCutoff, main: np.ndarray, vocab: Vocabulary) -> dict:
    """The main subscription's plan, term, trial flag, days left on the running term, and months
    since a contract spell of it ended while it runs month-to-month ("no longer under contract")."""
    contract, start, sub = at.take("contract"), at.take("start"), at.take("sub")
    term = contract[main]
    left = term_end(start[main], term, at.day) - at.day
    out_of_contract = np.full(len(main), np.nan)
    ended = (contract > 0) & (at.end <= at.day)
    if ended.any():
        last_end = pd.Series(at.end[ended]).groupby(sub[ended]).max()
        since = last_end.reindex(sub[main]).to_numpy(float)
        ok = (term == 0) & ~np.isnan(since)
        out_of_contract[ok] = (at.day - since[ok]) / s.DAYS_PER_MONTH
    return {
        "contract_months": term.astype(float),
        "contract_days_left": np.where(term > 0, left, np.nan).astype(float),
        "months_out_of_contract": out_of_contract,
        "is_trial": at.take("trial")[main].astype(float),
        s.PLAN: pd.Categorical(at.take("plan")[main], categories=vocab.plans),
    }


def revenue_columns(at: AtCutoff, settings: Settings, current_start: np.ndarray) -> dict:
    """Products and recurring revenue now, its change, revenue billed in the last windows."""
    n, rows, running = len(at.customers), at.rows(), at.running
    start, mrr = at.take("start"), at.take("mrr")
    out = {
        "n_products": np.bincount(rows[running], minlength=n).astype(float),
        s.MRR: np.bincount(rows[running], weights=mrr[running], minlength=n),
    }
    ago = at.day - settings.mrr_change_days
    then = (start <= ago) & (at.end > ago) & (rows >= 0)
    mrr_then = np.bincount(rows[then], weights=mrr[then], minlength=n)
    name = f"mrr_change_{settings.mrr_change_days}d"
    out[name] = np.where(current_start <= ago, out[s.MRR] - mrr_then, np.nan)
    for w in settings.revenue_windows:
        out[f"revenue_{w}d"] = revenue_between(start, at.end, mrr, rows, n, at.day, -w)
    return out


def change_columns(at: AtCutoff, settings: Settings, current_start: np.ndarray) -> dict:
    """Plan changes in the last `change_days` (a spell starting the day its predecessor of the same
    subscription ended, on another plan; up or down by recurring revenue), and products given up
    in the last `dropped_days` while the customer stayed."""
    n = len(at.customers)
    sub, start, plan, mrr = (at.take(k) for k in ("sub", "start", "plan", "mrr"))
    order = np.lexsort((start, sub))
    sb, st, en, pl, v = sub[order], start[order], at.end[order], plan[order], mrr[order]
    rows = at.rows()[order]
    follows = np.r_[False, (sb[1:] == sb[:-1]) & (st[1:] == en[:-1]) & (pl[1:] != pl[:-1])]
    recent = follows & (st > at.day - settings.change_days) & (rows >= 0)
    previous = np.r_[np.nan, v[:-1]]
    up, down = recent & (v > previous), recent & (v < previous)
    per_sub = pd.DataFrame({"row": at.rows(), "sub": sub, "end": at.end, "on": at.running})
    per_sub = per_sub.groupby("sub").agg(row=("row", "first"), end=("end", "max"), on=("on", "any"))
    row, end = per_sub["row"].to_numpy(), per_sub["end"].to_numpy()
    dropped = ~per_sub["on"].to_numpy() & (row >= 0) & (end > at.day - settings.dropped_days)
    dropped &= end > current_start[np.maximum(row, 0)]
    return {
        f"upgrades_{settings.change_days}d": np.bincount(rows[up], minlength=n).astype(float),
        f"downgrades_{settings.change_days}d": np.bincount(rows[down], minlength=n).astype(float),
        f"dropped_products_{settings.dropped_days}d": np.bincount(row[dropped], minlength=n).astype(
            float
        ),
    }


def spell_columns(at: AtCutoff, settings: Settings, vocab: Vocabulary) -> dict:
    """Every feature the spells give at one cutoff."""
    tenure, current_start = tenure_columns(at, settings.grace_days)
    return {
        **tenure,
        **contract_columns(at, main_spells(at), vocab),
        **revenue_columns(at, settings, current_start),
        **change_columns(at, settings, current_start),
    }


def build_features(
    idx: SubscriberIndex,
    cutoffs: list[int],
    features_cfg: FeaturesConfig,
    vocab: Vocabulary,
    horizon_days: int,
    with_labels: bool = False,
) -> pd.DataFrame:
    """Features of every customer with a running spell at each cutoff (day numbers), stacked in the
    order given, customers in id order within a cutoff; labels when `with_labels`."""
    settings = Settings.of(features_cfg)
    pay = payment_windows(idx.payments, cutoffs, settings) if idx.payments else None
    use = usage_windows(idx.usage, cutoffs, settings, vocab.usage_kinds) if idx.usage else None
    frames = []
    for day in cutoffs:
        at = at_cutoff(idx.spells, int(day))
        codes = at.customers
        columns = {
            s.CUSTOMER_ID: idx.spells.customer_ids[codes],
            s.CUTOFF: np.full(len(codes), to_date(day).to_datetime64(), dtype="datetime64[s]"),
            **spell_columns(at, settings, vocab),
            **{k: v[codes] for k, v in (pay[day] if pay else {}).items()},
            **{k: v[codes] for k, v in (use[day] if use else {}).items()},
            **attributes_at(idx.attributes, vocab.attributes, vocab.measures, [(int(day), codes)]),
        }
        if with_labels:
            columns |= spell_labels(idx.spells, at, horizon_days, settings.grace_days)
        frames.append(pd.DataFrame(columns))
    return pd.concat(frames, ignore_index=True)


def first_starts(spells: Spells) -> np.ndarray:
    """Per customer code: the day of its first start (its acquisition, for the schedule)."""
    first = np.full(len(spells), np.inf)
    np.minimum.at(first, spells.code, spells.start.astype(float))
    return first


def build_datasets(
    idx: SubscriberIndex,
    features_cfg: FeaturesConfig,
    labels_cfg: LabelsConfig,
    as_of: str | None,
    data: DataConfig | None = None,
) -> Datasets:
    """Every labelled cutoff of the schedule with labels, and the snapshot: the same schedule,
    sufficiency checks and summary as for transactions (`features.datasets`). The population is
    "running at the cutoff", so `labels.active_within_days` does not apply."""
    as_of_day = resolve_as_of(idx.last_day, as_of, data)
    first_day = min(idx.first_day, as_of_day)
    schedule, choice = fitted_schedule(
        first_day, first_purchase_counts(first_starts(idx.spells)), as_of_day, labels_cfg
    )
    vocab = fit_vocabulary(idx, features_cfg, vocabulary_day(schedule))
    h = labels_cfg.horizon_days
    labelled = build_features(idx, schedule.labelled, features_cfg, vocab, h, with_labels=True)
    snapshot = build_features(idx, [schedule.snapshot], features_cfg, vocab, h)
    valid = rows_at(labelled, [newest_fold(schedule, labels_cfg)])
    counts = LabelCounts(len(labelled), int(labelled[s.CHURNED].sum()), len(snapshot))
    schedule, summary = checked_summary(schedule, first_day, labels_cfg, valid, counts, choice)
    return Datasets(labelled, snapshot, vocab, schedule, summary)
