"""The demo of a company with both exports (`segml generate --shape both`): the subscription demo's
operator (`generate_subscriptions`) whose shop also sells devices, add-ons and one-off services
(`generate`'s purchases). One id space: some subscribers also buy, the other buyers only buy
(ids after the subscribers'), and one customer table covers everyone. Neither demo is reshaped:
each generator runs as it is, and only the purchase ids are renamed before the export is made
messy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import generate as purchases
from segml.data import generate_subscriptions as subscriptions
from segml.data import schema as s
from segml.data.generate_subscriptions import SubscriptionDemo

# of the buyers, the share who are also subscribers (the rest only buy)
SUBSCRIBER_BUYER_SHARE = 0.4


@dataclass(frozen=True)
class BothDemo:
    subscriptions: SubscriptionDemo  # its customer table covers the buyers too
    transactions: pd.DataFrame  # messy, canonical column names, ids in the shared space
    truth: pd.DataFrame  # per customer and part: the generators' hidden truth


def generate(
    n_subscribers: int = 12_000,
    n_buyers: int = 10_000,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    seed: int = 42,
) -> BothDemo:
    """About `n_subscribers` subscribers (and the subscription demo's prospects) and `n_buyers`
    buyers, `SUBSCRIBER_BUYER_SHARE` of whom are subscribers too."""
    rng = np.random.default_rng(seed + 7)
    subs = subscriptions.generate(n_subscribers, start, end, seed)
    shop = purchases.generate(n_buyers, start, end, seed + 1, messy=False)
    subscriber_ids = np.unique(subs.subscriptions[s.CUSTOMER_ID].to_numpy().astype(str))
    ids = _shared_ids(rng, shop.ground_truth[s.CUSTOMER_ID].to_numpy(), subscriber_ids)
    tx = shop.transactions.assign(customer_id=shop.transactions[s.CUSTOMER_ID].map(ids))
    tx = purchases.make_messy(rng, tx, pd.Timestamp(end))
    only_buy = sorted(set(ids.values) - set(subscriber_ids))
    customers = pd.concat(
        [subs.customers, _buyers_attributes(rng, subs.customers, only_buy)], ignore_index=True
    )
    truth = pd.concat(
        [
            subs.truth.assign(part="subscriptions"),
            shop.ground_truth.assign(
                customer_id=shop.ground_truth[s.CUSTOMER_ID].map(ids), part="transactions"
            ),
        ],
        ignore_index=True,
    )
    both = SubscriptionDemo(
        subs.subscriptions, subs.payments, subs.usage, customers, subs.truth, subs.episodes
    )
    return BothDemo(both, tx, truth)


def _shared_ids(
    rng: np.random.Generator, buyer_ids: np.ndarray, subscriber_ids: np.ndarray
) -> pd.Series:
    """Purchase-demo id -> the shared id: a random `SUBSCRIBER_BUYER_SHARE` of the buyers become
    subscribers (drawn at random among them), the others get ids after the subscribers' (7 digits,
    leading zeros, as both demos write them)."""
    n = len(buyer_ids)
    k = min(int(round(n * SUBSCRIBER_BUYER_SHARE)), len(subscriber_ids))
    chosen = rng.permutation(n)
    shared = np.empty(n, dtype=object)
    shared[chosen[:k]] = rng.choice(subscriber_ids, k, replace=False)
    first = int(max(subscriber_ids, key=int)) + 1 if len(subscriber_ids) else 1
    rest = np.char.zfill(np.arange(first, first + n - k).astype(str), 7)
    shared[chosen[k:]] = rest
    return pd.Series(shared, index=buyer_ids)


def _buyers_attributes(
    rng: np.random.Generator, customers: pd.DataFrame, ids: list[str]
) -> pd.DataFrame:
    """Customer-table rows for those who only buy: attributes like a subscriber's (drawn from
    subscribers' first rows), valid from the beginning."""
    first = customers.drop_duplicates(s.CUSTOMER_ID)
    first = first[~first[s.CUSTOMER_ID].astype(str).str.startswith("P")]
    picked = first.iloc[rng.integers(0, len(first), len(ids))].copy()
    picked[s.CUSTOMER_ID] = ids
    picked["valid_from"] = pd.NaT
    return picked.reset_index(drop=True)
