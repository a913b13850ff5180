"""What really happened to earlier periods' customers, per kind of data: each kind's realized
outcomes for the audit stage (`Kind.realized`), read once and measured per audited period.

transactions: purchases after the earliest audited as_of (`tiering.realized.realized_from_transactions`:
bought again, net spend). subscriptions: the spells today's export knows, measured with the churn
and value labels' own code (`tiering.realized.realized_from_spells`: still subscribed, recurring
revenue; coverage merged over `features.subscriptions.grace_days`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd

from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.features.spells import index_spells
from segml.features.subscription_settings import Settings
from segml.tiering import realized as r

# (start as_of, elapsed days) -> per customer: the kind's outcome, revenue (tiering.realized)
Measure = Callable[[str, int], pd.DataFrame]


@dataclass(frozen=True)
class Outcomes:
    """A kind's realized outcomes: what "stayed" is (`tiering.realized.RATES`: repurchased or
    retained) and how to read them (catalog, features.subscriptions, earliest as_of -> Measure)."""

    outcome: str
    read: Callable[[Catalog, dict, str], Measure]

    @property
    def rate(self) -> str:
        """The share who stayed, as audit.json names it (repurchase_rate, retention_rate)."""
        return r.RATES[self.outcome]


def transaction_outcomes(catalog: Catalog, subscriptions: dict, since: str) -> Measure:
    """Purchases after `since` (the earliest audited as_of), read once."""
    tx = catalog.read(
        "prepared_transactions",
        columns=[s.CUSTOMER_ID, s.TS, s.AMOUNT],
        filters=[(s.TS, ">", pd.Timestamp(since))],
    )
    return partial(r.realized_from_transactions, tx)


def subscriber_outcomes(catalog: Catalog, subscriptions: dict, since: str) -> Measure:
    """Every spell of today's export (a spell's history before `since` decides who was running
    then), indexed once; `subscriptions`: features.subscriptions (its `grace_days`)."""
    spells = index_spells(catalog.read("prepared_subscriptions"))
    grace = int(dict(subscriptions or {}).get("grace_days", Settings.grace_days))
    return lambda start, days: r.realized_from_spells(spells, start, days, grace)


TRANSACTION_OUTCOMES = Outcomes(r.REPURCHASED, transaction_outcomes)
SUBSCRIBER_OUTCOMES = Outcomes(r.RETAINED, subscriber_outcomes)


def both_outcomes(catalog: Catalog, subscriptions: dict, since: str, active_days: int) -> Measure:
    """Both exports: subscribers' spells and everyone's purchases from `active_days` before
    `since`, read once (`tiering.realized.realized_from_both`)."""
    spells = index_spells(catalog.read("prepared_subscriptions"))
    grace = int(dict(subscriptions or {}).get("grace_days", Settings.grace_days))
    tx = catalog.read(
        "prepared_transactions",
        columns=[s.CUSTOMER_ID, s.TS, s.AMOUNT],
        filters=[(s.TS, ">", pd.Timestamp(since) - pd.Timedelta(days=active_days))],
    )
    return lambda start, days: r.realized_from_both(spells, tx, start, days, grace, active_days)
