"""Features of a company with both exports (`data.kind: both`): two parts, each one kind's
population, built by that kind's own code on one graded date.

- subscriptions: everyone running a subscription at the cutoff (the subscription kind's rows), with
  their purchases joined as features under a prefix (`purchase_spend_90d`, ...) and their value
  label = recurring revenue in the next H days + purchase spend (net of refunds) in the same days,
  so value compares money with money across both parts;
- transactions: everyone else with purchases (never subscribed, or no longer subscribing at that
  cutoff), the transaction kind's rows less the subscribers'.

Point in time as each kind is: the joined purchase features are the transaction kind's features
at the subscriber's own cutoff (nothing after it); the purchase spend added to the label is in
(cutoff, cutoff + H], as the label's recurring revenue.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from segml.config import DataConfig, FeaturesConfig, LabelsConfig
from segml.data import schema as s
from segml.features import datasets as purchases
from segml.features import subscriptions
from segml.features.build import Cutoff, Vocabulary, build_features
from segml.features.spells import at_cutoff
from segml.features.transactions import MONEY_UNITS, TransactionIndex, to_date, to_day

PREFIX = "purchase_"  # joined purchase features on subscribers' rows
# the purchase features subscribers' rows carry (those the features config builds)
JOINED = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "spend_90d",
    "spend_365d",
    "purchase_days_90d",
    "purchase_days_365d",
)
# a subscriber who never bought before the cutoff spent nothing; how recently and how much per
# order stay unknown (missing)
ZERO_WHEN_NEVER_BOUGHT = ("frequency", "monetary_total", "spend_90d", "spend_365d")
ZERO_WHEN_NEVER_BOUGHT += ("purchase_days_90d", "purchase_days_365d")


def as_of_both(
    purchases_idx: TransactionIndex,
    subscribers: subscriptions.SubscriberIndex,
    as_of: str | None,
    data: DataConfig | None,
) -> str:
    """The one graded date of both parts: the configured one, else the later of the two exports'
    last days (both parts are graded as of the same day)."""
    last = max(int(purchases_idx.day.max()), int(subscribers.last_day))
    day = purchases.resolve_as_of(last, as_of, data)
    return str(to_date(day).date())


def running_ids(subscribers: subscriptions.SubscriberIndex, day: int) -> set[str]:
    """The customers holding a running subscription at `day` (the subscription part's rows)."""
    at = at_cutoff(subscribers.spells, int(day))
    return set(subscribers.spells.customer_ids[at.customers])


def without_subscribers(
    frame: pd.DataFrame, subscribers: subscriptions.SubscriberIndex
) -> pd.DataFrame:
    """The rows of customers not running a subscription at their row's cutoff."""
    keep = np.ones(len(frame), bool)
    cutoffs = frame[s.CUTOFF].to_numpy()
    for cutoff in np.unique(cutoffs):
        at = cutoffs == cutoff
        running = running_ids(subscribers, to_day(cutoff))
        keep[at] = ~np.isin(frame[s.CUSTOMER_ID].to_numpy()[at].astype(str), list(running))
    return frame[keep].reset_index(drop=True)


def purchase_spend_after(
    idx: TransactionIndex, ids: np.ndarray, cutoffs: np.ndarray, days: int
) -> np.ndarray:
    """Per row (customer id, cutoff): net purchase spend in (cutoff, cutoff + days]."""
    code = pd.Index(idx.customer_ids).get_indexer(pd.Index(ids.astype(str)))
    out = np.zeros(len(ids))
    # day numbers since 1970-01-01, as `to_day` counts them, for every row at once
    cutoff_days = np.asarray(cutoffs).astype("datetime64[D]").astype(np.int64)
    for day in np.unique(cutoff_days):
        inside = (idx.day > day) & (idx.day <= day + days)
        spend = np.bincount(idx.code[inside], idx.amount[inside], minlength=len(idx))
        rows = (cutoff_days == day) & (code >= 0)
        out[rows] = spend[code[rows]] / MONEY_UNITS
    return out


def joined_purchases(
    rows: pd.DataFrame,
    idx: TransactionIndex,
    features_cfg: FeaturesConfig,
    vocab: Vocabulary,
    horizon_days: int,
) -> pd.DataFrame:
    """Subscribers' rows with their purchase features at each row's cutoff (prefixed) and, when
    the rows have labels, purchase spend in the next `horizon_days` added to the value label."""
    days = sorted({to_day(c) for c in np.unique(rows[s.CUTOFF].to_numpy())})
    bought = build_features(idx, [Cutoff(d) for d in days], features_cfg, vocab, horizon_days)
    # the named ones, and spend in every window built (the value and churn windows among them)
    spend = [c for c in bought if re.fullmatch(r"spend_\d+d", c)]
    wanted = list(dict.fromkeys([c for c in JOINED if c in bought] + spend))
    bought = bought[[s.CUSTOMER_ID, s.CUTOFF, *wanted]].rename(
        columns={c: PREFIX + c for c in wanted}
    )
    bought[s.CUTOFF] = bought[s.CUTOFF].astype(rows[s.CUTOFF].dtype)
    out = rows.merge(bought, on=[s.CUSTOMER_ID, s.CUTOFF], how="left", validate="one_to_one")
    for column in [*ZERO_WHEN_NEVER_BOUGHT, *spend]:
        if PREFIX + column in out:
            out[PREFIX + column] = out[PREFIX + column].fillna(0.0)
    if s.FUTURE_VALUE in out:
        spend = purchase_spend_after(
            idx, out[s.CUSTOMER_ID].to_numpy(), out[s.CUTOFF].to_numpy(), horizon_days
        )
        out[s.FUTURE_VALUE] = out[s.FUTURE_VALUE].to_numpy() + spend
    return out


def build_both(
    purchases_idx: TransactionIndex,
    subscribers: subscriptions.SubscriberIndex,
    features_cfg: FeaturesConfig,
    labels_cfg: LabelsConfig,
    as_of: str | None,
    data: DataConfig | None = None,
) -> dict[str, purchases.Datasets]:
    """Each part's datasets (`PARTS`), both graded as of the same day (`as_of_both`)."""
    day = as_of_both(purchases_idx, subscribers, as_of, data)
    subs = subscriptions.build_datasets(subscribers, features_cfg, labels_cfg, day, data)
    buyers = purchases.build_datasets(purchases_idx, features_cfg, labels_cfg, day, data)
    h = labels_cfg.horizon_days
    joined = {
        name: joined_purchases(
            getattr(subs, name), purchases_idx, features_cfg, buyers.vocabulary, h
        )
        for name in ("labelled", "snapshot")
    }
    subs = replace(subs, **joined)
    labelled = without_subscribers(buyers.labelled, subscribers)
    snapshot = without_subscribers(buyers.snapshot, subscribers)
    n = len(labelled)
    summary = buyers.summary | {
        "labelled_rows": n,
        "snapshot_customers": len(snapshot),
        "churn_rate": float(labelled[s.CHURNED].sum()) / n if n else None,
    }
    buyers = replace(buyers, labelled=labelled, snapshot=snapshot, summary=summary)
    return {"subscriptions": subs, "transactions": buyers}


def both_summary(parts: dict[str, purchases.Datasets]) -> dict:
    """The features stage's record of both parts: each part's, and the labelled rows and churn
    rate over both (the headline DVC compares)."""
    records = {name: ds.summary for name, ds in parts.items()}
    n = sum(r["labelled_rows"] for r in records.values())
    churned = sum((r["churn_rate"] or 0) * r["labelled_rows"] for r in records.values())
    first = next(iter(records.values()))
    return {
        "kind": "both",
        "as_of": first["as_of"],
        "horizon_days": first["horizon_days"],
        "labelled_rows": n,
        "snapshot_customers": sum(r["snapshot_customers"] for r in records.values()),
        "churn_rate": churned / n if n else None,
        "parts": records,
    }
