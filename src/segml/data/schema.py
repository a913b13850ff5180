"""One column vocabulary and the data contract for clean tables.

User files are mapped onto these canonical names at the edge (`conf/data`); everything inside
segml speaks only these names.
"""

from __future__ import annotations

import pandera.pandas as pa

# Transactions
CUSTOMER_ID = "customer_id"
TS = "ts"
AMOUNT = "amount"
ORDER_ID = "order_id"
QUANTITY = "quantity"
CATEGORY = "category"
CHANNEL = "channel"

REQUIRED_TRANSACTION_COLUMNS = (CUSTOMER_ID, TS, AMOUNT)
OPTIONAL_TRANSACTION_COLUMNS = (ORDER_ID, QUANTITY, CATEGORY, CHANNEL)

# Customer attributes (all optional; behaviour exists only for customers who bought)
ATTRIBUTE_COLUMNS = (
    "region",
    "city_tier",
    "business_type",
    "acquisition_channel",
    "age_band",
    "gender",
)

# Subscriptions: one row per spell (a period with one plan and one price); a plan change or a
# renewal closes a spell and opens the next under the same subscription id. Service runs over
# [start, end); an empty end is running.
SUBSCRIPTION_ID = "subscription_id"
PLAN = "plan"
START = "start"  # first day of service
END = "end"  # first day without service (exclusive); empty = running
BILLING_MONTHS = "billing_months"  # the billing period in months (from data.subscriptions words)
CONTRACT_MONTHS = "contract_months"  # commitment term: 0 = month-to-month
STATUS = "status"  # the export's own status word, mapped: as of the export, never a feature
CANCELLED_ON = "cancelled_on"  # optional: when notice was given (may precede END)
MRR = "mrr"  # derived: amount / billing_months
IS_TRIAL = "is_trial"
REQUIRED_SUBSCRIPTION_COLUMNS = (CUSTOMER_ID, SUBSCRIPTION_ID, START, AMOUNT)
OPTIONAL_SUBSCRIPTION_COLUMNS = (PLAN, END, "billing_period", STATUS, "contract", CANCELLED_ON)
STATUSES = ("trial", "active", "past_due", "cancelled", "changed", "expired", "paused")
# lifecycle statuses of customers listed without a usable subscription (segml.data.subscriptions)
NO_SUBSCRIPTION_STATUSES = ("all_rows_rejected", "never_subscribed")
# usage events (ts, quantity, kind) and payments (ts, amount, outcome): event logs like purchases
KIND = "kind"
OUTCOME = "outcome"
PAYMENT_OUTCOMES = ("paid", "failed", "late")
DAYS_PER_MONTH = 365.25 / 12

# Rejected rows keep the original values (as text) plus these
REJECT_REASON = "reject_reason"
SOURCE_ROW = "source_row"  # 1-based data row number in the input file (header excluded)
SOURCE_FILE = "source_file"

# Feature tables
CUTOFF = "cutoff"
CHURNED = "churned"
FUTURE_VALUE = "future_value"
NEXT_PURCHASE = "next_purchase_days"  # days to the first purchase in the window (NaN: none)
DAYS_TO_CHURN = "days_to_churn"  # subscriptions: days to the end of coverage, censored at H
VALUE_365 = "value_365d"  # subscriptions: recurring revenue in the 365 days after the cutoff
LABELS = (CHURNED, FUTURE_VALUE, NEXT_PURCHASE)
LABEL_COLUMNS = (*LABELS, DAYS_TO_CHURN, VALUE_365)  # never a model input, whichever kind

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

# Customer attributes by type (`segml.data.attributes`): categories as text, numbers and yes/no as
# floats (1.0 / 0.0), dates as days; with `data.customer_validity`, each row's validity date
VALID_FROM = "valid_from"
ATTRIBUTE_DTYPES = {"category": str, "number": float, "date": "datetime64[s]", "yes_no": float}


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
