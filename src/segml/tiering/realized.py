"""What customers really did after an earlier period's as_of: the audit's realized outcomes, one
builder per way of recording behaviour, each a per-customer table (`customer_id`, the outcome,
`revenue`) that `tiering.audit` measures the period's grades against.

"Stayed" is each kind's own outcome, named by its column and, in audit.json, by its rate:
`repurchased` / `repurchase_rate` for purchases (bought again in the window, as the churn label
counts it), `retained` / `retention_rate` for subscribers (no cancellation in the window, as the
subscriber churn label counts it). Kept apart from the audit itself so the record of the kinds
(`segml.stages.kinds`) can name them without making every stage depend on the audit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features.spells import Spells, at_cutoff, revenue_between, spell_labels
from segml.features.transactions import to_day

REPURCHASED, RETAINED, REVENUE = "repurchased", "retained", "revenue"
STAYED = "stayed"  # data.kind both: still subscribed (subscribers) or bought again (the others)
# who the churn and value forecasts were about, when the realized table knows it (subscribers:
# running at the period's as_of); without it, those who bought in the `active_within_days` before
RUNNING = "running"
# the outcome a realized table carries -> its rate's name in audit.json
RATES = {REPURCHASED: "repurchase_rate", RETAINED: "retention_rate", STAYED: "stay_rate"}


def realized_from_transactions(tx: pd.DataFrame, start: str, days: int) -> pd.DataFrame:
    """What each customer did in the `days` after `start` (the dates (start, start + days], as the
    labels count them): repurchased (a purchase: amount > 0) and revenue (net spend). Only
    customers with a row there."""
    day = tx[s.TS].dt.normalize()
    first, last = pd.Timestamp(start), pd.Timestamp(start) + pd.Timedelta(days=days)
    rows = tx[(day > first) & (day <= last)]
    grouped = rows.groupby(s.CUSTOMER_ID, sort=True)[s.AMOUNT]
    return pd.DataFrame(
        {
            REPURCHASED: grouped.max().gt(0),
            REVENUE: grouped.sum(),
        }
    ).reset_index()


def realized_from_spells(spells: Spells, start: str, days: int, grace_days: int) -> pd.DataFrame:
    """What each subscriber did in the `days` after `start` (the dates (start, start + days]), from
    the spells today's export knows: `running` (a subscription running at `start`), `retained`
    and `revenue` (recurring revenue in the window). For those running at `start`, retained = not
    churned as the churn label counts it over a horizon of `days` (`spells.spell_labels`: coverage
    merged over gaps of at most `grace_days` ends in the window) and revenue is its value label;
    for the others (cancelled before, listed apart), retained = running again at the window's end.
    The export ends at today's as_of: a cancellation up to then is observed, a spell running then
    has not ended (a restart still to come within the grace days is not seen: counted as churn, as
    the newest fold's labels count it). One row per customer with a spell started by the window's
    end."""
    day = to_day(start)
    at = at_cutoff(spells, day)
    n = len(spells)
    labels = spell_labels(spells, at, days, grace_days)
    running = at.row >= 0
    retained = np.isin(np.arange(n), at_cutoff(spells, day + days).customers)
    retained[at.customers] = labels[s.CHURNED] == 0
    revenue = revenue_between(spells.start, spells.end, spells.mrr, spells.code, n, day, days)
    known = np.isin(np.arange(n), spells.code[spells.start <= day + days])
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: spells.customer_ids.to_numpy(str)[known],
            RUNNING: running[known],
            RETAINED: retained[known],
            REVENUE: revenue[known],
        }
    )


def realized_from_both(
    spells: Spells, tx: pd.DataFrame, start: str, days: int, grace_days: int, active_days: int
) -> pd.DataFrame:
    """Both exports (`data.kind: both`): subscribers as `realized_from_spells` says (their revenue
    with their purchases' net spend in the window added, as their value label); everyone else as
    purchases say (`running` = bought in the `active_days` before `start`: the purchase models'
    population); `stayed`: still subscribed, or bought again. `tx`: purchases from `start` less
    `active_days`."""
    subscribers = realized_from_spells(spells, start, days, grace_days)
    subscribers = subscribers.rename(columns={RETAINED: STAYED})
    bought = realized_from_transactions(tx, start, days).rename(columns={REPURCHASED: STAYED})
    first = pd.Timestamp(start) - pd.Timedelta(days=active_days)
    day = tx[s.TS].dt.normalize()
    active = set(tx.loc[(day > first) & (day <= pd.Timestamp(start)), s.CUSTOMER_ID])
    running = set(subscribers.loc[subscribers[RUNNING], s.CUSTOMER_ID])
    spend = bought.set_index(s.CUSTOMER_ID)[REVENUE]
    subscribers = subscribers[subscribers[RUNNING]].assign(
        **{REVENUE: lambda f: f[REVENUE] + spend.reindex(f[s.CUSTOMER_ID]).fillna(0).to_numpy()}
    )
    buyers = sorted((active | set(bought[s.CUSTOMER_ID])) - running)
    others = bought.set_index(s.CUSTOMER_ID).reindex(buyers)
    others = pd.DataFrame(
        {
            s.CUSTOMER_ID: buyers,
            RUNNING: [c in active for c in buyers],
            STAYED: others[STAYED].fillna(False).astype(bool).to_numpy(),
            REVENUE: others[REVENUE].fillna(0.0).to_numpy(),
        }
    )
    return pd.concat([subscribers, others], ignore_index=True)
