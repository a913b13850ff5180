"""Prepare for a company with both exports (`data.kind: both`): the purchase export and the
subscription export prepared by their own readers, put together once.

The customer table is read by both readers (the same function, `segml.data.customers`): its clean
table and its rejected rows are kept once. Rejected rows of every file go into one table (each
names its file). A customer is listed without a tier only when neither export gives them a usable
purchase nor a usable subscription. The data-quality record holds both kinds' figures, and the
totals the stage's headline reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from segml.data import schema as s
from segml.data.subscriptions import PreparedSubscriptions
from segml.data.validate import Prepared
from segml.errors import ConfigError

TOTALS = ("rows_read", "rows_clean", "rows_rejected", "rows_skipped", "rows_after_period")


@dataclass(frozen=True)
class PreparedBoth:
    transactions: pd.DataFrame
    subscriptions: pd.DataFrame
    payments: pd.DataFrame
    usage: pd.DataFrame
    customers: pd.DataFrame
    rejected: pd.DataFrame  # every file's rejected rows whole + row, reason, file
    quality: dict
    no_purchase: pd.DataFrame  # customers with neither a usable purchase nor a subscription


def combine_prepared(
    purchases: Prepared, subscriptions: PreparedSubscriptions, customers_source: str
) -> PreparedBoth:
    """One prepared export from the two readers' results; `customers_source`: the customer
    table's name in rejected rows (both readers name it so)."""
    rejected_subscriptions = subscriptions.rejected
    if len(rejected_subscriptions):  # the customer table's rejected rows: once (purchases' copy)
        again = rejected_subscriptions[s.SOURCE_FILE].astype(str) == customers_source
        rejected_subscriptions = rejected_subscriptions[~again.to_numpy()]
    frames = [f for f in (purchases.rejected, rejected_subscriptions) if len(f)]
    rejected = pd.concat(frames, ignore_index=True) if frames else purchases.rejected
    if len(rejected):
        rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    return PreparedBoth(
        purchases.transactions,
        subscriptions.subscriptions,
        subscriptions.payments,
        subscriptions.usage,
        purchases.customers,
        rejected,
        both_quality(purchases.quality, subscriptions.quality),
        neither(purchases, subscriptions),
    )


def neither(purchases: Prepared, subscriptions: PreparedSubscriptions) -> pd.DataFrame:
    """The customers listed without a tier: those the purchase reader lists (no usable purchase)
    who hold no usable subscription either, and those the subscription reader lists whose rows
    were all rejected and who have no usable purchase. A prospect (in the customer table only) is
    listed once, as the purchase reader words it (`never_bought`)."""
    subscribed = set(subscriptions.subscriptions[s.CUSTOMER_ID])
    bought = set(purchases.transactions[s.CUSTOMER_ID])
    listed = purchases.no_purchase
    listed = listed[~listed[s.CUSTOMER_ID].isin(subscribed)]
    other = subscriptions.no_purchase
    other = other[
        ~other[s.CUSTOMER_ID].isin(bought) & ~other[s.CUSTOMER_ID].isin(listed[s.CUSTOMER_ID])
    ]
    table = pd.concat([listed, other], ignore_index=True)
    return table.sort_values(s.CUSTOMER_ID, ignore_index=True)


def both_quality(purchases: dict, subscriptions: dict) -> dict:
    """Each kind's record under its name, the totals over both (the customer table counted once:
    the subscription record's copy of it is left out of the totals) and both kinds' notes."""
    customer_table = subscriptions.get("customers") or {}
    totals = {
        key: int(purchases.get(key, 0))
        + int(subscriptions.get(key, 0))
        - int(customer_table.get(key, 0))
        for key in TOTALS
    }
    read = totals["rows_read"]
    ends = [q.get("export_end") for q in (purchases, subscriptions) if q.get("export_end")]
    lasts = [q.get("last_date") for q in (purchases, subscriptions) if q.get("last_date")]
    return {
        "kind": "both",
        **totals,
        "rejected_share": totals["rows_rejected"] / read if read else 0.0,
        "as_of": purchases.get("as_of"),
        "export_end": max(ends) if ends else None,
        "last_date": max(lasts) if lasts else None,
        "notes": [
            *(f"purchases: {n}" for n in purchases.get("notes", [])),
            *(f"subscriptions: {n}" for n in subscriptions.get("notes", [])),
        ],
        "transactions": purchases,
        "subscriptions": subscriptions,
    }


def check_both_mapped(data) -> None:
    """`data.kind: both` needs both exports mapped: the purchase file's required columns
    (`data.columns`) and the subscription file's (`data.subscriptions.columns`)."""
    if data.kind != "both":
        return
    purchases = [c for c in ("customer_id", "ts", "amount") if not data.columns.get(c)]
    spells = (data.subscriptions or {}).get("columns") or {}
    missing = [f"data.columns.{c}" for c in purchases] + [
        f"data.subscriptions.columns.{c}"
        for c in s.REQUIRED_SUBSCRIPTION_COLUMNS
        if not spells.get(c)
    ]
    if missing:
        raise ConfigError(
            "data.kind=both reads a purchase export and a subscription export: map "
            f"{', '.join(missing)} to your column names (conf/data/both_demo.yaml shows both), "
            "or use kind transactions or subscriptions for one export."
        )
