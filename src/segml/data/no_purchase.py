"""Customers without a usable purchase: who they are and why (the tier table lists them with a
status instead of a tier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.data.raw import text_array
from segml.data.rejects import REASON_CODES, REASON_TEXT, REASONS_ZH, in_plain_words, is_outside

# the reasons' Chinese by code, as REASON_TEXT holds their English
REASON_TEXT_ZH = np.array([None] * len(REASON_TEXT), dtype=object)
for _key, _zh in REASONS_ZH.items():
    REASON_TEXT_ZH[REASON_CODES[_key]] = _zh

NO_PURCHASE_STATUSES = ("all_rows_rejected", "only_refunds", "only_free_orders", "never_bought")
NO_PURCHASE_COLUMNS = (
    "customer_id",
    "status",
    "rejected_rows",
    "reject_reasons",
    "reject_reasons_zh",
    "in_customer_table",
)


def customers_without_purchase(
    ids: pa.Array,
    customer: np.ndarray,
    reason: np.ndarray,
    amount: np.ndarray,
    customer_table_ids: pd.Series,
    later: np.ndarray | None = None,
) -> pd.DataFrame:
    """Customers the input knows who have no usable purchase, one row each, by customer id.

    `ids` are the distinct customer ids in id order, and per transaction row `customer` is the
    position of its id there (-1: none), `reason` the code of why it was rejected (0: kept; see
    REASON_CODES) and `amount` its amount. A customer is listed when none of their kept rows is
    a purchase:
    `all_rows_rejected` (they have rows, every one rejected: e.g. only zero-amount purchases),
    `only_refunds` (their kept rows are refunds, perhaps beside free orders), `only_free_orders`
    (their kept rows are zero-amount orders, kept by `data.drop_zero_amounts: false`), or
    `never_bought` (in the customer table without a transaction row). `rejected_rows` and
    `reject_reasons` ("zero amount × 3; …", and `reject_reasons_zh`: "金额为零 × 3；…") summarise
    their rejected transaction rows. Rows
    outside (after the period, or no transaction at all) count for nothing: a customer whose
    rows all lie after `as_of` is not in that period, nor is one whose first purchase comes
    after it (`later`: their positions in `ids`), whatever their rows inside it.
    """
    inside = ~is_outside(reason)
    if not inside.all():
        customer, reason, amount = customer[inside], reason[inside], amount[inside]
    kept = reason == 0
    with np.errstate(invalid="ignore"):
        # purchase, refund, free order, rejected
        kind = np.where(kept, np.select([amount > 0, amount < 0], [0, 1], 2), 3)
    # per customer (and first, rows without an id), whether they have rows of each kind
    has = np.bincount((customer + 1) * 4 + kind, minlength=4 * (len(ids) + 1)) > 0
    bought, refunded, free, rejected = has.reshape(-1, 4)[1:].T
    refunds_only = refunded & ~bought
    free_only = free & ~refunded & ~bought
    rejected_only = rejected & ~free & ~refunded & ~bought
    not_yet = np.zeros(len(ids), dtype=bool)
    if later is not None and len(later):
        not_yet[later[later >= 0]] = True
    listed = np.flatnonzero((refunds_only | free_only | rejected_only) & ~not_yet)
    table_ids = text_array(customer_table_ids)
    position = pc.index_in(table_ids, value_set=ids)  # missing: not among the transactions' ids
    never_bought = table_ids.filter(pc.is_null(position))
    listed_ids = pa.concat_arrays([ids.take(listed), never_bought])
    by_id = pc.sort_indices(listed_ids).to_numpy()
    status = np.r_[
        np.select(
            [refunds_only[listed], free_only[listed]],
            ["only_refunds", "only_free_orders"],
            "all_rows_rejected",
        ),
        np.full(len(never_bought), "never_bought"),
    ]
    n_rejected, reasons, reasons_zh = _rejected_rows(customer, reason, listed, len(ids))
    codes = np.r_[listed, np.full(len(never_bought), -1)]
    table = pd.DataFrame(
        {
            "customer_id": pd.Series(listed_ids.to_pandas(), dtype="str"),
            "status": pd.Series(status, dtype="str"),
            "rejected_rows": n_rejected.reindex(codes, fill_value=0).to_numpy(dtype="int64"),
            "reject_reasons": reasons.reindex(codes, fill_value="")
            .to_numpy(dtype=object)
            .astype(str),
            "reject_reasons_zh": reasons_zh.reindex(codes, fill_value="")
            .to_numpy(dtype=object)
            .astype(str),
            "in_customer_table": np.r_[
                np.isin(listed, pc.drop_null(position).to_numpy()),
                np.ones(len(never_bought), dtype=bool),
            ],
        }
    )
    return table.iloc[by_id].reset_index(drop=True)[list(NO_PURCHASE_COLUMNS)]


def _rejected_rows(
    customer: np.ndarray, reason: np.ndarray, listed: np.ndarray, n_ids: int
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """For the `listed` customers (positions among the `n_ids` ids), by position: how many of
    their transaction rows were rejected, and why ("zero amount × 3; …", and in Chinese)."""
    is_listed = np.zeros(n_ids + 1, dtype=bool)  # the last: no id
    is_listed[listed] = True
    dropped = np.flatnonzero((reason != 0) & is_listed[customer])  # a row without an id: not listed
    summary = (
        pd.DataFrame(
            {
                "code": customer[dropped],
                "reason": REASON_TEXT[reason[dropped]],
                "zh": REASON_TEXT_ZH[reason[dropped]],
            }
        )
        .groupby(["code", "reason", "zh"], sort=True, dropna=False)
        .size()
        .reset_index(name="n")
    )
    times = " × " + summary["n"].astype(str)
    summary["text"] = summary["reason"].map(in_plain_words) + times
    summary["text_zh"] = summary["zh"] + times
    by_code = summary.groupby("code")
    return by_code["n"].sum(), by_code["text"].agg("; ".join), by_code["text_zh"].agg("；".join)
