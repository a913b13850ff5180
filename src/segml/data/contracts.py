"""The data contracts of the clean tables (pandera): what prepare guarantees to the stages after
it. Apart from the column names (`segml.data.schema`) so that only prepare loads pandera."""

from __future__ import annotations

import pandera.pandas as pa

from segml.data.schema import (
    AMOUNT,
    ATTRIBUTE_DTYPES,
    BILLING_MONTHS,
    CANCELLED_ON,
    CATEGORY,
    CHANNEL,
    CONTRACT_MONTHS,
    CUSTOMER_ID,
    END,
    IS_TRIAL,
    KIND,
    MRR,
    ORDER_ID,
    OUTCOME,
    PAYMENT_OUTCOMES,
    PLAN,
    QUANTITY,
    START,
    STATUS,
    STATUSES,
    SUBSCRIPTION_ID,
    TS,
    VALID_FROM,
)

CLEAN_TRANSACTIONS = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        TS: pa.Column("datetime64[ns]"),
        AMOUNT: pa.Column(float, pa.Check(lambda s: s != 0, error="amount must be non-zero")),
        ORDER_ID: pa.Column(str, nullable=True, required=False),
        QUANTITY: pa.Column(float, nullable=True, required=False),
        CATEGORY: pa.Column(str, nullable=True, required=False),
        CHANNEL: pa.Column(str, nullable=True, required=False),
    },
    strict=True,
    coerce=False,
)

# `data.drop_zero_amounts: false` keeps zero-amount rows (free orders, gifts) as valid rows
CLEAN_TRANSACTIONS_WITH_FREE_ORDERS = CLEAN_TRANSACTIONS.update_column(AMOUNT, checks=[])


def clean_customers(types: dict[str, str], history: bool = False) -> pa.DataFrameSchema:
    """The clean customer table's contract: the id (once, or once per validity date for a
    history) and each attribute (name -> type) present."""
    columns = {CUSTOMER_ID: pa.Column(str, unique=not history)}
    columns |= {name: pa.Column(ATTRIBUTE_DTYPES[t], nullable=True) for name, t in types.items()}
    if history:
        columns[VALID_FROM] = pa.Column("datetime64[s]", nullable=True)
    return pa.DataFrameSchema(
        columns, strict=True, unique=[CUSTOMER_ID, VALID_FROM] if history else None
    )


# Subscription exports, prepared (`segml.data.subscriptions`): what the features read
CLEAN_SUBSCRIPTIONS = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        SUBSCRIPTION_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        PLAN: pa.Column(str, nullable=True),
        START: pa.Column("datetime64[ns]"),
        END: pa.Column("datetime64[ns]", nullable=True),
        AMOUNT: pa.Column(float, pa.Check.ge(0)),
        BILLING_MONTHS: pa.Column("int64", pa.Check.gt(0)),
        CONTRACT_MONTHS: pa.Column("int64", pa.Check.ge(0)),
        STATUS: pa.Column(str, pa.Check.isin(STATUSES), nullable=True),
        CANCELLED_ON: pa.Column("datetime64[ns]", nullable=True),
        MRR: pa.Column(float, pa.Check.ge(0)),
        IS_TRIAL: pa.Column(bool),
    },
    strict=True,
    ordered=True,
)
CLEAN_USAGE = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        SUBSCRIPTION_ID: pa.Column(str, nullable=True),
        TS: pa.Column("datetime64[ns]"),
        QUANTITY: pa.Column(float, pa.Check.ge(0)),
        KIND: pa.Column(str),
    },
    strict=True,
    ordered=True,
)
CLEAN_PAYMENTS = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        SUBSCRIPTION_ID: pa.Column(str, nullable=True),
        TS: pa.Column("datetime64[ns]"),
        AMOUNT: pa.Column(float),
        OUTCOME: pa.Column(str, pa.Check.isin(PAYMENT_OUTCOMES)),
    },
    strict=True,
    ordered=True,
)
