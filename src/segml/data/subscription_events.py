"""Usage events and payments of a subscription export: event logs, prepared as purchases are.

Payments: one row per attempt (a retry is a row), its outcome mapped by `data.payments.outcomes`
to paid | failed | late (an unknown word is a rejected row naming that key). Usage: a quantity of
some kind (流量GB, 通话分钟, logins, seats) on a day. Both: rows with no row's content are skipped,
rows after `as_of` are outside the period, rows after the export's end are future-dated, exact
duplicates are rejected. Rows of customers with no subscription are kept and counted (the
features ignore them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import contracts
from segml.data import schema as s
from segml.data.parse import parse_amounts, parse_numbers
from segml.data.subscription_rows import (
    Rows,
    Table,
    after_period,
    reject_duplicates,
    reject_ids,
    skip_non_rows,
    text_column,
    unmapped_words,
    words,
)

PAYMENTS, USAGE = "payments", "usage"
REQUIRED = {
    PAYMENTS: (s.CUSTOMER_ID, s.TS, s.AMOUNT),
    USAGE: (s.CUSTOMER_ID, s.TS, s.QUANTITY),
}
CONTRACTS = {PAYMENTS: contracts.CLEAN_PAYMENTS, USAGE: contracts.CLEAN_USAGE}


@dataclass(frozen=True)
class PreparedEvents:
    clean: pd.DataFrame
    rejected: pd.DataFrame
    quality: dict


def prepare_events(
    name: str, table: Table, cfg: DataConfig, end: pd.Timestamp, period_end: pd.Timestamp | None
) -> PreparedEvents:
    """The clean payments or usage (`name`) of `table` (its file mapped)."""
    rows = Rows(table.n)
    skip_non_rows(table, rows, cfg.total_labels, s.CUSTOMER_ID)
    customer = table.ids(s.CUSTOMER_ID)
    ts = table.dates(s.TS, cfg)
    reject_ids(table, rows, customer)
    rows.reject(np.isnat(ts), "bad_timestamp")
    own = _payment_columns(table, rows, cfg) if name == PAYMENTS else _usage_columns(table, rows)
    rows.reject(ts > end.to_datetime64(), "future")
    after_period(rows, ts, period_end)
    reject_duplicates(table, rows)
    good = rows.good
    clean = pd.DataFrame(
        {
            s.CUSTOMER_ID: text_column(customer, good),
            s.SUBSCRIPTION_ID: text_column(table.text(s.SUBSCRIPTION_ID), good),
            s.TS: ts[good],
            **{column: _kept(values, good) for column, values in own.items()},
        }
    ).sort_values([s.CUSTOMER_ID, s.TS], kind="stable", ignore_index=True)
    CONTRACTS[name].validate(clean, inplace=True)
    quality = rows.counts(sum(table.sources.above_header)) | _figures(name, clean)
    if name == PAYMENTS and table.has(s.OUTCOME):
        quality["unknown_words"] = {
            "outcomes": unmapped_words(table.values(s.OUTCOME), own[s.OUTCOME])
        }
    return PreparedEvents(clean, table.rejected_rows(rows), quality)


def _kept(values, good: np.ndarray):
    if isinstance(values, np.ndarray):
        return values[good]
    return text_column(values, good)


def _payment_columns(table: Table, rows: Rows, cfg: DataConfig) -> dict:
    """Amount (as purchases: ¥1,234.50 ...) and outcome (absent column: every attempt paid)."""
    amount = parse_amounts(table.text(s.AMOUNT), cfg)
    with np.errstate(invalid="ignore"):
        rows.reject(np.isnan(amount), "bad_amount")
        rows.reject(np.abs(amount) > cfg.max_abs_amount, "absurd_amount")
    if table.has(s.OUTCOME):
        outcome = words(table.values(s.OUTCOME), cfg.payments.get("outcomes", {}), np.nan)
        outcome = outcome.where(outcome.isin(s.PAYMENT_OUTCOMES), np.nan)
    else:
        outcome = pd.Series(["paid"] * table.n, dtype=object)
    rows.reject(outcome.isna().to_numpy(), "unknown_outcome")
    return {s.AMOUNT: amount.astype(float), s.OUTCOME: outcome}


def _usage_columns(table: Table, rows: Rows) -> dict:
    """Quantity (a number, not negative) and kind (absent or blank: "")."""
    quantity = parse_numbers(table.text(s.QUANTITY))
    with np.errstate(invalid="ignore"):
        rows.reject(np.isnan(quantity) | (quantity < 0), "bad_quantity")
    kind = pc.fill_null(table.text(s.KIND), "")
    return {s.QUANTITY: quantity.astype(float), s.KIND: kind}


def _figures(name: str, clean: pd.DataFrame) -> dict:
    column = s.OUTCOME if name == PAYMENTS else s.KIND
    counts = clean[column].value_counts().sort_index()
    return {
        "customers": int(clean[s.CUSTOMER_ID].nunique()),
        f"{column}s": {str(k): int(n) for k, n in counts.items()},
    }
