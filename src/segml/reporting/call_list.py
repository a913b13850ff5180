"""The call list: at-risk customers (and subscribers whose payment is past due), the most value
at stake first, with what an agent needs to
call them (churn band, last purchase, expected next purchase when known, reasons, action, team).

The workbook's first sheet and the report's call-first table are both this list, so they agree
row for row. Value at stake is churn probability x the customer's net spend over the value window
(`segml.tiering.scoring.value_at_stake`): what their leaving would cost, in money the team knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s

# The call list's columns, in the order an agent reads them; a column the table lacks (e.g.
# `expected_next_purchase_date` before a forecast of the next purchase exists) is left out.
COLUMNS = [
    "rank",
    s.CUSTOMER_ID,
    "tier",
    # with both exports: which churn the probability means (a cancellation or a silence)
    "churn_kind_zh",
    "churn_kind_en",
    "churn_band",
    "value_at_stake",
    "churn_probability",
    "current_value",
    "last_purchase_date",
    "recency_days",
    "expected_next_purchase_date",
    "churn_reasons_zh",
    "churn_reasons_en",
    "lifecycle_action_zh",
    "lifecycle_action_en",
    "lifecycle_action_team_zh",
    "lifecycle_action_team_en",
]


# who is called: customers at risk, and subscribers behind on their payment (past due: among
# subscribers the likeliest to cancel, whom customer service calls with a payment reminder)
CALLED = ("at_risk", "past_due")


def recurring(table: pd.DataFrame) -> bool:
    """Whether the table's value is subscribers' recurring revenue (their monthly fee is in it);
    a table of both subscribers and buyers (`churn_kind`) is not."""
    return "mrr" in table and "churn_kind" not in table


def value_words(table: pd.DataFrame) -> str:
    """The suffix of the words that say what value at stake counts: net spend (""), subscribers'
    fees ("_recurring"), or fees and net spend for a table of subscribers and buyers ("_both")."""
    return "_both" if "churn_kind" in table else "_recurring" if recurring(table) else ""


def last_purchase_dates(table: pd.DataFrame) -> pd.Series:
    """Each customer's last purchase day (YYYY-MM-DD): `as_of` less the days since it."""
    if "as_of" not in table or "recency_days" not in table:
        return pd.Series(None, index=table.index, dtype=object)
    as_of = pd.to_datetime(table["as_of"], errors="coerce")
    days = pd.to_numeric(table["recency_days"], errors="coerce")
    when = as_of - pd.to_timedelta(days, unit="D")
    return when.dt.strftime("%Y-%m-%d").where(when.notna(), None)


def stakes(table: pd.DataFrame) -> pd.Series:
    """`value_at_stake`, or (a table from before it existed) churn probability x current value."""
    if "value_at_stake" in table:
        return table["value_at_stake"]
    if {"churn_probability", "current_value"} <= set(table.columns):
        return table["churn_probability"] * table["current_value"].clip(lower=0)
    return pd.Series(np.nan, index=table.index, dtype=float)  # an export without them


@dataclass(frozen=True)
class CallList:
    rows: pd.DataFrame  # the listed customers, ranked, in `COLUMNS` order
    at_risk: (
        int  # the customers it is for, in all (at risk or past due; the list holds at most the cap)
    )
    cap: int | None


def call_list(table: pd.DataFrame, cap: int | None) -> CallList:
    """Every customer at risk or past due (`CALLED`), the most value at stake first (ties by id),
    at most `cap`. A table without lifecycle statuses (an export cut to a few columns) gives an
    empty list."""
    if "lifecycle_status" not in table:
        return CallList(pd.DataFrame(columns=["rank"]), 0, cap)
    risky = table[table["lifecycle_status"].isin(CALLED).to_numpy()]
    stake = stakes(risky).fillna(0).to_numpy()
    ids = risky[s.CUSTOMER_ID].astype(str).to_numpy() if s.CUSTOMER_ID in risky else None
    order = np.lexsort((ids, -stake)) if ids is not None else np.argsort(-stake, kind="stable")
    chosen = risky.iloc[order[:cap] if cap else order]
    out = chosen.assign(value_at_stake=stakes(chosen), rank=np.arange(1, len(chosen) + 1))
    if "recency_days" in chosen:  # purchases (subscribers have no last purchase)
        out["last_purchase_date"] = last_purchase_dates(chosen)
    return CallList(out[[c for c in COLUMNS if c in out]].reset_index(drop=True), len(risky), cap)
